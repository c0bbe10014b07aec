"""The handoff a PDF/A-3 brief carries inside as `handoff.json`, read back out.

A PDF given to `extract` may come from anywhere, so it is read within bounds: the attachments
are listed from the PDF's name tree without decoding any of them, a PDF with more than one
`handoff.json` is refused as ambiguous, and the one there is decompressed to at most
`MAX_EMBEDDED_BYTES` (the limit for one handoff) before it is validated like any handoff.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import HandoffBriefError
from .load import MAX_INPUT_BYTES, load_bytes

#: The name of the handoff a PDF/A-3 brief carries inside.
EMBEDDED_NAME = "handoff.json"
#: The largest embedded handoff read, decompressed: the same limit as for one handoff file.
MAX_EMBEDDED_BYTES = MAX_INPUT_BYTES
#: Name-tree nodes and entries walked at most; a brief has one node and one entry.
MAX_TREE_ITEMS = 10_000


class NothingEmbedded(HandoffBriefError):
    """The PDF is readable but carries no handoff: it was not rendered as PDF/A-3."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(f"{source}: carries no {EMBEDDED_NAME}; only PDF/A-3 briefs embed "
                         "the handoff")


def embedded_handoff(source: str | Path) -> bytes:
    """The bytes of `handoff.json` inside the PDF brief at `source`, validated as a handoff.

    Raises `NothingEmbedded` when there is none, `InvalidHandoff` when what is there is not
    a valid handoff, and `HandoffBriefError` for anything else, naming `source`.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with open(source, "rb") as handle:
            if not handle.read(5).startswith(b"%PDF-"):
                raise HandoffBriefError(f"{source}: is not a PDF")
            handle.seek(0)
            found = [file for file in _attached(PdfReader(handle))
                     if EMBEDDED_NAME in file.names]
            if len(found) > 1:
                raise HandoffBriefError(
                    f"{source}: carries {len(found)} attachments named {EMBEDDED_NAME} where a "
                    "brief carries one, so which is the handoff cannot be told; render the "
                    "brief again from its handoff")
            raw = _contents(found[0].stream, source) if found else None
    except FileNotFoundError:
        raise HandoffBriefError(f"{source}: no such file; check the path") from None
    except IsADirectoryError:
        raise HandoffBriefError(f"{source}: is a folder; give a PDF brief") from None
    except OSError as error:
        raise HandoffBriefError(f"{source}: cannot be read ({error.strerror})") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError,
            RecursionError) as error:
        raise HandoffBriefError(f"{source}: cannot be read as a PDF "
                                f"({type(error).__name__}: {error})") from None
    if raw is None:
        raise NothingEmbedded(str(source))
    load_bytes(raw, f"{source}'s {EMBEDDED_NAME}", suffix=".json")
    return raw


@dataclass(frozen=True)
class _Attached:
    names: frozenset[str]  # its key in the name tree and its file names (/UF, /F)
    stream: Any  # a reference to the embedded file stream, not yet read


def _attached(reader: Any) -> list[_Attached]:
    """The files in the PDF's EmbeddedFiles name tree; none of them is decoded here."""
    names = _get(reader.trailer["/Root"], "/Names")
    tree = _get(names, "/EmbeddedFiles") if names is not None else None
    found: list[_Attached] = []
    todo = [tree] if tree is not None else []
    seen: set[int] = set()
    while todo:
        node = todo.pop()
        if not hasattr(node, "get") or id(node) in seen:
            continue
        seen.add(id(node))
        if len(seen) + len(found) > MAX_TREE_ITEMS:
            raise ValueError(f"more than {MAX_TREE_ITEMS} attachments")
        pairs = _get(node, "/Names") or []
        for key, spec in zip(pairs[0::2], pairs[1::2], strict=False):
            spec = spec.get_object()
            if not hasattr(spec, "get"):
                continue
            files = _get(spec, "/EF")
            # The reference only: a stream is read (not yet decoded) once it is chosen.
            stream = (files.get("/F") or files.get("/UF")) if files is not None else None
            labels = {str(key.get_object()), str(_get(spec, "/UF") or ""),
                      str(_get(spec, "/F") or "")} - {""}
            found.append(_Attached(frozenset(labels), stream))
        todo.extend(kid.get_object() for kid in _get(node, "/Kids") or [])
    return found


def _get(node: Any, key: str) -> Any:
    value = node.get(key) if hasattr(node, "get") else None
    return value.get_object() if value is not None else None


def _contents(stream: Any, source: str | Path) -> bytes:
    """The decoded bytes of an embedded file stream, refused past `MAX_EMBEDDED_BYTES`.

    Decoded here rather than by pypdf, so that no more than the limit is ever decompressed;
    handoff-brief writes the handoff uncompressed or Flate-compressed, and reads only those.
    """
    what = f"{source}: its {EMBEDDED_NAME}"
    stream = stream.get_object() if stream is not None else None
    if not hasattr(stream, "get") or not hasattr(stream, "_data"):
        raise HandoffBriefError(f"{what} has no contents; this PDF was not written by "
                                "handoff-brief")
    named = _get(stream, "/Filter")
    filters = [str(f) for f in (named if isinstance(named, list) else [named])
               if f is not None]
    raw = stream._data  # as stored: decoded below, within the limit
    if filters not in ([], ["/FlateDecode"]) or stream.get("/DecodeParms") is not None:
        raise HandoffBriefError(f"{what} is encoded with {' '.join(filters) or 'parameters'}, "
                                "which handoff-brief does not write; this PDF was not written "
                                "by handoff-brief")
    if filters:
        decompressor = zlib.decompressobj()
        try:
            raw = decompressor.decompress(raw, MAX_EMBEDDED_BYTES + 1)
        except zlib.error as error:
            raise HandoffBriefError(f"{what} is damaged ({error})") from None
    if len(raw) > MAX_EMBEDDED_BYTES:
        raise HandoffBriefError(
            f"{what} is larger than {MAX_EMBEDDED_BYTES // (1024 * 1024)} MiB once "
            "decompressed, the limit for one handoff; this PDF was not written by handoff-brief")
    return bytes(raw)
