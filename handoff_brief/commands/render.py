"""`handoff-brief render`: handoffs to brief files, one per handoff, named by id by default."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..brief import Brief
from ..choices import FORMAT_SUFFIXES, PdfVariant
from ..errors import HandoffBriefError
from ..inputs import Document, Ids, read_ahead
from ..look import Look
from ..outputs import STDOUT, ensure_folder, write_output
from ..policy import Policy
from .common import Outcome, UsageProblem, output_format, plural
from .wording import explain


@dataclass
class RenderOptions:
    sources: list[str]
    output: str | None = None  # a file, a folder, or '-'; None: <id>.<format> here
    fmt: str | None = None
    draft: bool = False
    pdf_variant: PdfVariant | None = None
    look: Look = field(default_factory=Look)
    policy: Policy | None = None
    stdout_is_terminal: bool = False


def run(options: RenderOptions, outcome: Outcome | None = None) -> Outcome:
    """Render every handoff of the inputs; each failure is reported and the rest go on."""
    outcome = outcome or Outcome()
    several, documents = read_ahead(options.sources)
    folder = _folder(options.output, several)
    fmt = output_format(None if folder is not None else options.output, options.fmt)
    if folder is None:
        _refuse_mismatch(options.output, fmt)
    if options.output == STDOUT and fmt == "pdf" and options.stdout_is_terminal:
        raise UsageProblem("refusing to write a PDF to the terminal; redirect it (> brief.pdf) "
                           "or pass --format md")
    if options.pdf_variant and fmt != "pdf":
        raise UsageProblem(f"--pdf-variant goes with PDF output, not {fmt}")
    if folder is not None:
        ensure_folder(folder)
    ids = Ids()
    total = failed = 0
    for document in documents:
        total += 1
        try:
            _render_one(document, options, fmt, folder, ids, outcome)
        except HandoffBriefError as error:
            if not several:
                raise
            failed += 1
            outcome.note(f"Error: {explain(error)}")
    if several:
        outcome.note(f"{plural(total, 'handoff')}: {total - failed} rendered, {failed} failed")
        if failed:
            outcome.fail()
    return outcome


def _refuse_mismatch(output: str | None, fmt: str) -> None:
    """`--format md -o brief.pdf`: a file whose name says another format than its content."""
    if output is None or output == STDOUT:
        return
    named = FORMAT_SUFFIXES.get(Path(output).suffix.lower())
    if named is not None and named != fmt:
        raise UsageProblem(f"--format {fmt} does not match -o {output}, which names a {named} "
                           f"file; drop --format, or name the file "
                           f"{Path(output).with_suffix('.' + fmt)}")


def _folder(output: str | None, several: bool) -> Path | None:
    """The folder briefs go into, when -o names one (or several handoffs need one)."""
    if output is None or output == STDOUT:
        if several and output == STDOUT:
            raise UsageProblem("-o - takes one handoff, and the inputs hold several; give -o "
                               "a folder")
        return None
    path = Path(output)
    if path.is_dir() or output.endswith(("/", "\\")):
        return path
    if several and not path.exists() and path.suffix.lower() not in FORMAT_SUFFIXES:
        return path  # a new folder for the briefs
    if several:
        raise UsageProblem(f"-o {output} names one file, and the inputs hold several "
                           "handoffs; give -o a folder")
    return None


def _render_one(document: Document, options: RenderOptions, fmt: str, folder: Path | None,
                ids: Ids, outcome: Outcome) -> None:
    handoff = document.validate()
    name = document.position
    target = _target(options.output, folder, f"{handoff.id}.{fmt}")
    if target != STDOUT:
        ids.claim(handoff.id, name)
    brief = Brief(handoff, source=name, look=options.look, draft=options.draft,
                  policy=options.policy,
                  pdf_variant=options.pdf_variant)
    result = brief.render(fmt)  # type: ignore[arg-type]
    write_output(target, result.data)
    for line in _lines(brief, name, result.notices):
        outcome.note(line)
    if target != STDOUT:
        pages = "" if result.pages is None else f" ({plural(result.pages, 'page')})"
        outcome.note(f"wrote {target}{pages}")


def _target(output: str | None, folder: Path | None, file_name: str) -> str:
    if folder is not None:
        return str(folder / file_name)
    return output or file_name


def _lines(brief: Brief, name: str, notices: list[str]) -> Iterator[str]:
    yield from (f"warning: {name}: {finding.as_line()}" for finding in brief.warnings)
    yield from (f"warning: {name}: {notice}" for notice in notices)
    if not brief.ready:
        yield f"{name}: rendered as a DRAFT, not handoff-ready"
