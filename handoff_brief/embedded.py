"""The handoff a PDF/A-3 brief carries inside as `handoff.json`, read back out."""

from __future__ import annotations

from pathlib import Path

from .errors import HandoffBriefError

#: The name of the handoff a PDF/A-3 brief carries inside.
EMBEDDED_NAME = "handoff.json"


class NothingEmbedded(HandoffBriefError):
    """The PDF is readable but carries no handoff: it was not rendered as PDF/A-3."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(f"{source}: carries no {EMBEDDED_NAME}; only PDF/A-3 briefs embed "
                         "the handoff")


def embedded_handoff(source: str | Path) -> bytes:
    """The bytes of `handoff.json` inside the PDF brief at `source`."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        with open(source, "rb") as handle:
            if not handle.read(5).startswith(b"%PDF-"):
                raise HandoffBriefError(f"{source}: is not a PDF")
            handle.seek(0)
            attachments = PdfReader(handle).attachments
            data = attachments[EMBEDDED_NAME][0] if EMBEDDED_NAME in attachments else None
    except FileNotFoundError:
        raise HandoffBriefError(f"{source}: no such file; check the path") from None
    except (PdfReadError, ValueError, KeyError) as error:
        raise HandoffBriefError(f"{source}: cannot be read as a PDF ({error})") from None
    except OSError as error:
        raise HandoffBriefError(f"{source}: cannot be read ({error.strerror})") from None
    if data is None:
        raise NothingEmbedded(str(source))
    return bytes(data)
