"""What each command does, as plain functions; `cli.py` only wires Click to them."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .check import Finding, check, is_ready
from .errors import HandoffBriefError, InvalidHandoff, Problem
from .files import write_atomic
from .load import load
from .look import Look, find_brand, templates_folder, write_templates
from .model import json_schema
from .render import FORMATS, Format, Paper, render

_EXTENSIONS: dict[str, Format] = {".pdf": "pdf", ".md": "md", ".markdown": "md",
                                  ".html": "html", ".htm": "html"}


class UsageProblem(HandoffBriefError):
    """The command was called wrongly (exit 2), as opposed to bad input (exit 1)."""

    exit_code = 2


@dataclass
class Outcome:
    """What a command has to say: lines for stdout, lines for stderr, the exit code."""

    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    exit_code: int = 0


def output_format(output: str | None, fmt: str | None) -> Format:
    """`--format` if given, else the `-o` file's extension, else PDF."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageProblem(f"unknown format {fmt!r}; use pdf, md or html")
        return fmt
    if output is None or output == "-":
        return "pdf"
    suffix = Path(output).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise UsageProblem(f"cannot tell the format from {output!r}; name the file .pdf, .md "
                           "or .html, or pass --format pdf|md|html")
    return _EXTENSIONS[suffix]


def make_look(brand: str | None, templates: str | None) -> Look:
    """`--brand` (else `handoff-brief.toml` here) and `--templates`, checked."""
    return Look(brand=find_brand(brand, Path.cwd()), templates=templates_folder(templates))


def write_templates_command(folder: str) -> Outcome:
    """`handoff-brief templates DIR`: the built-in templates and styles, for editing."""
    written = write_templates(Path(folder))
    return Outcome(err=[f"wrote {len(written)} files into {folder}: edit them, then pass "
                        f"--templates {folder}"])


def render_file(source: str, output: str | None, fmt: str | None, paper: Paper | None,
                draft: bool, pdf_variant: str | None = None,
                look: Look | None = None) -> Outcome:
    """`handoff-brief render`: one handoff to one brief file (or stdout for `-o -`)."""
    chosen = output_format(output, fmt)
    if output == "-" and chosen == "pdf" and sys.stdout.isatty():
        raise UsageProblem("refusing to write a PDF to the terminal; redirect it (> brief.pdf) "
                           "or pass --format md")
    name = _label(source)
    handoff = load(source, label=name)
    if pdf_variant and chosen != "pdf":
        raise UsageProblem(f"--pdf-variant goes with PDF output, not {chosen}")
    result = render(handoff, chosen, paper=paper, draft=draft, source=name,
                    pdf_variant=pdf_variant, look=look)
    target = output or f"{handoff.id}.{chosen}"
    if target == "-":
        sys.stdout.buffer.write(result.data)
        sys.stdout.buffer.flush()
    else:
        write_atomic(Path(target), result.data)
    outcome = Outcome(err=[f"warning: {name}: {f}" for f in result.warnings])
    outcome.err += [f"warning: {name}: {notice}" for notice in result.notices]
    if draft and not is_ready(result.findings):
        outcome.err.append(f"{name}: rendered as a DRAFT, not handoff-ready")
    if target != "-":
        pages = "" if result.pages is None else (
            f" ({result.pages} page{'s' if result.pages != 1 else ''})")
        outcome.err.append(f"wrote {target}{pages}")
    return outcome


@dataclass
class FileReport:
    file: str
    id: str | None
    problems: list[Problem]
    findings: list[Finding]

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def ready(self) -> bool:
        return self.valid and is_ready(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "id": self.id, "valid": self.valid, "ready": self.ready,
                "errors": [p.as_dict() for p in self.problems],
                "findings": [f.as_dict() for f in self.findings]}


def check_file(source: str, *, pages: bool = True, look: Look | None = None) -> FileReport:
    """Findings for one file; `pages` renders a ready handoff's PDF for its page budget."""
    name = _label(source)
    try:
        handoff = load(source, label=name)
    except InvalidHandoff as error:
        return FileReport(name, None, error.problems, [])
    except HandoffBriefError as error:
        return FileReport(name, None, [Problem(name, "", error.message.removeprefix(
            f"{name}: "))], [])
    findings = check(handoff)
    if pages and is_ready(findings):
        findings = render(handoff, "pdf", source=name, look=look).findings
    return FileReport(name, handoff.id, [], findings)


def check_files(sources: list[str], *, as_json: bool = False, pages: bool = True,
                look: Look | None = None) -> Outcome:
    """`handoff-brief check`: findings per file, as text or JSON; exit 1 if any blocks."""
    reports = [check_file(source, pages=pages, look=look) for source in sources]
    failed = any(not report.ready for report in reports)
    if as_json:
        return Outcome(out=[json.dumps([r.as_dict() for r in reports], indent=2)],
                       exit_code=int(failed))
    lines: list[str] = []
    for report in reports:
        lines.append(_headline(report))
        lines += [f"  {problem}" for problem in report.problems]
        lines += [f"  {finding}" for finding in report.findings]
    if len(reports) > 1:
        ready = sum(r.ready for r in reports)
        invalid = sum(not r.valid for r in reports)
        lines.append(f"{len(reports)} files: {ready} ready, {len(reports) - ready - invalid} "
                     f"not ready, {invalid} invalid")
    return Outcome(out=lines, exit_code=int(failed))


def _headline(report: FileReport) -> str:
    if not report.valid:
        count = len(report.problems)
        return f"{report.file}: invalid, {count} problem{'s' if count != 1 else ''}"
    errors = sum(f.level == "error" for f in report.findings)
    warnings = len(report.findings) - errors
    state = "ready" if report.ready else "not ready"
    return (f"{report.file} ({report.id}): {state}, {errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''}")


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False)


def _label(source: str) -> str:
    return "<stdin>" if source == "-" else source


@dataclass
class EmailOptions:
    """`handoff-brief email` as plain values (no Click)."""

    sources: list[str]
    to: list[str]
    cc: list[str]
    sender: str | None
    reply_to: str | None
    subject: str | None
    smtp: str | None
    security: str
    user: str | None
    cafile: str | None
    eml: str | None
    dry_run: bool
    look: Look | None = None


def email_files(options: EmailOptions, *, password: str | None, now: Any,
                sleep: Any = None) -> Outcome:
    """Compose every ready handoff first, then write .eml files or send over one connection."""
    from . import mail

    if options.smtp is not None and options.eml is not None:
        raise UsageProblem("give --smtp HOST[:PORT] to send, or --eml PATH to write message "
                           "files, not both")
    if options.smtp is None and options.eml is None and not options.dry_run:
        raise UsageProblem("give either --smtp HOST[:PORT] to send, or --eml PATH to write "
                           "message files (or --dry-run to see who would receive what)")
    if options.eml is not None and (options.user or options.security != "plain"):
        raise UsageProblem("--user, --starttls and --ssl go with --smtp, not --eml")
    if options.sender is None:
        raise UsageProblem("give --from ADDRESS: the sender of the briefs")
    sender = mail.parse_address(options.sender, "--from")
    to = [mail.parse_address(a, "--to") for a in options.to]
    cc = [mail.parse_address(a, "--cc") for a in options.cc]
    reply_to = mail.parse_address(options.reply_to, "--reply-to") if options.reply_to else None
    settings = None
    if options.smtp is not None:
        security = options.security  # validated by the caller's choice list
        host, port = mail.parse_server(options.smtp, security)  # type: ignore[arg-type]
        settings = mail.SmtpSettings(host, port, security, options.user,  # type: ignore[arg-type]
                                     password, options.cafile)

    outcome = Outcome()
    outgoing: list[mail.Outgoing] = []
    failed = 0
    for source in options.sources:
        name = _label(source)
        try:
            handoff = load(source, label=name)
            outgoing.append(mail.compose(handoff, source=name, sender=sender, to=to, cc=cc,
                                         reply_to=reply_to, subject=options.subject, now=now,
                                         look=options.look))
        except HandoffBriefError as error:
            failed += 1
            outcome.err.append(f"not sent: {error.message}")

    done = len(outgoing)
    if options.dry_run:
        for item in outgoing:
            outcome.out += _dry_run_lines(item)
    elif options.eml is not None:
        outcome.err += _write_eml(outgoing, Path(options.eml), several=len(options.sources) > 1)
    elif outgoing and settings is not None:
        sender_kwargs = {"sleep": sleep} if sleep is not None else {}
        with mail.Sender(settings, **sender_kwargs) as connection:
            for item in outgoing:
                delivery = connection.send(item)
                failed += not delivery.ok
                done -= not delivery.ok
                verb = "sent" if delivery.ok else "FAILED"
                detail = delivery.detail.removeprefix("sent ") if delivery.ok else delivery.detail
                tries = f" after {delivery.attempts} attempts" if delivery.attempts > 1 else ""
                outcome.err.append(f"{verb}: {item.source} ({item.handoff_id}) {detail}{tries}")
    action = "would send" if options.dry_run else ("wrote" if options.eml else "sent")
    outcome.err.append(f"{len(options.sources)} handoff{'s' if len(options.sources) != 1 else ''}"
                       f": {done} {action}, {failed} failed")
    outcome.exit_code = int(failed > 0)
    return outcome


def _dry_run_lines(item: Any) -> list[str]:
    message = item.message
    lines = [f"{item.source} ({item.handoff_id})",
             f"  From:    {message['From']}", f"  To:      {message['To']}"]
    if message["Cc"]:
        lines.append(f"  Cc:      {message['Cc']}")
    if message["Reply-To"]:
        lines.append(f"  Reply-To: {message['Reply-To']}")
    pages = f"{item.pages} page{'s' if item.pages != 1 else ''}"
    lines += [f"  Subject: {message['Subject']}",
              f"  Attach:  {item.handoff_id}.pdf ({pages}, {item.pdf_bytes:,} bytes)"]
    return lines


def _write_eml(outgoing: list[Any], target: Path, *, several: bool) -> list[str]:
    from email import policy

    if several:
        target.mkdir(parents=True, exist_ok=True)
    lines = []
    for item in outgoing:
        path = target / f"{item.handoff_id}.eml" if several else target
        write_atomic(path, item.message.as_bytes(policy=policy.SMTP))
        lines.append(f"wrote {path} (to {', '.join(item.rcpt)})")
    return lines


def _crm_briefs(crm: Any, sources: list[str],
                look: Look | None = None) -> tuple[list[Any], list[dict[str, Any]], int]:
    """Ready briefs for `crm`; skipped ones with reasons; how many count as failures."""
    from .crm import Skip, prepare

    briefs, skipped, failed = [], [], 0
    for source in sources:
        name = _label(source)
        try:
            handoff = load(source, label=name)
        except HandoffBriefError as error:
            first = error.message.splitlines()[0].removesuffix(":")
            skipped.append({"file": name, "id": None, "reason": f"invalid: {first}"})
            failed += 1
            continue
        try:
            briefs.append(prepare(handoff, name, crm, look))
        except Skip as skip:
            skipped.append({"file": name, "id": handoff.id, "reason": skip.message})
            failed += skip.message.startswith("not handoff-ready")
    return briefs, skipped, failed


def crm_export(crm: Any, sources: list[str], folder: str, look: Look | None = None) -> Outcome:
    """`handoff-brief crm export`: PDFs plus what the CRM's tools take, and a manifest."""
    from .crm import write_export

    briefs, skipped, failed = _crm_briefs(crm, sources, look)
    write_export(crm, briefs, skipped, Path(folder))
    outcome = Outcome(err=[f"skipped: {s['file']}: {s['reason']}" for s in skipped])
    outcome.err.append(f"{len(sources)} handoff{'s' if len(sources) != 1 else ''}: "
                       f"{len(briefs)} exported for {crm}, {len(skipped)} skipped; see "
                       f"{Path(folder) / 'manifest.json'}")
    outcome.exit_code = int(failed > 0)
    return outcome


def crm_push(crm: Any, sources: list[str], *, environ: Any, base_url: str | None = None,
             sleep: Any = None, look: Look | None = None) -> Outcome:
    """`handoff-brief crm push`: attach each ready brief to its record, once."""
    try:
        from . import crm_push as pushing
    except ImportError as error:
        if error.name != "httpx":
            raise
        raise HandoffBriefError("crm push needs the httpx package: pip install "
                                "'handoff-brief[crm]'") from None

    api = pushing.connect(crm, environ, base_url=base_url,
                          **({"sleep": sleep} if sleep is not None else {}))
    briefs, skipped, unready = _crm_briefs(crm, sources, look)
    outcome = Outcome(err=[f"skipped: {s['file']}: {s['reason']}" for s in skipped])
    counts = {"attached": 0, "already attached": 0, "failed": 0}
    try:
        for index, brief in enumerate(briefs):
            try:
                result = pushing.push(api, brief)
            except pushing.AuthError as error:
                left = len(briefs) - index - 1
                counts["failed"] += 1 + left
                outcome.err.append(f"FAILED: {brief.source} ({brief.handoff.id}): "
                                   f"{error.message}; stopped, {left} not attempted")
                break
            except HandoffBriefError as error:
                counts["failed"] += 1
                outcome.err.append(f"FAILED: {brief.source} ({brief.handoff.id}): "
                                   f"{error.message}")
                continue
            state = "already attached" if result.already else "attached"
            counts[state] += 1
            outcome.err.append(f"{state}: {brief.source} ({brief.handoff.id}) {result.detail}")
    finally:
        api.close()
    outcome.err.append(f"{len(sources)} handoff{'s' if len(sources) != 1 else ''}: "
                       f"{counts['attached']} attached, {counts['already attached']} already "
                       f"attached, {len(skipped)} skipped, {counts['failed']} failed")
    outcome.exit_code = int(counts["failed"] + unready > 0)
    return outcome


def batch_files(options: Any, *, as_json: bool, progress: Any = None) -> Outcome:
    """`handoff-brief batch`: classify, render what needs it, report; exit 1 on any problem."""
    from .batch import run

    report = run(options, progress)
    counts = report.counts
    if as_json:
        return Outcome(out=[json.dumps(report.as_dict(), indent=2, ensure_ascii=False)],
                       exit_code=int(not report.ok))
    total = len(report.entries)
    lines = [f"{e.position}: {e.status.replace('_', ' ')}: " + (
        e.errors[0] if e.errors else next((f"{f['rule']} at {f['path']}" for f in e.findings
                                           if f["level"] == "error"), ""))
        for e in report.entries if e.status in ("invalid", "not_ready")][:20]
    summary = ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in counts)
    lines.append(f"{total} handoff{'s' if total != 1 else ''}: {summary}; report: "
                 f"{options.outdir / 'report.md'}")
    return Outcome(err=lines, exit_code=int(not report.ok))


def extract_file(source: str) -> Outcome:
    """`handoff-brief extract`: the handoff JSON a PDF/A-3 brief carries."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    from .render import EMBEDDED_NAME

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
        raise HandoffBriefError(f"{source}: carries no {EMBEDDED_NAME}; only briefs rendered "
                                "with --pdf-variant pdf/a-3b or pdf/a-3u embed the handoff")
    return Outcome(out=[data.decode("utf-8").rstrip("\n")])
