"""The `handoff-brief` command: Click wiring only; the work is in `commands/`."""

from __future__ import annotations

import datetime
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from . import __version__, crm
from .choices import FORMATS, PAPERS, PDF_VARIANTS, TIERS
from .commands import batch as batch_command
from .commands import check as check_command
from .commands import crm as crm_command
from .commands import email as email_command
from .commands import extract as extract_command
from .commands import init as init_command
from .commands import render as render_command
from .commands import templates as templates_command
from .commands.common import Outcome, UsageProblem, make_look, make_policy
from .commands.wording import explain
from .errors import HandoffBriefError, NotReady


def _echo(line: str, err: bool) -> None:
    click.echo(line, err=err)


def _outcome() -> Outcome:
    """Lines printed as they happen, nothing kept: a run of any size uses the same memory."""
    return Outcome(echo=_echo, keep=False)


@contextmanager
def _user_errors(*, drafts: bool = True) -> Iterator[None]:
    """Input and environment errors print as `Error: ...` (exit 1); usage ones exit 2."""
    try:
        yield
    except UsageProblem as error:
        raise click.UsageError(error.message) from None
    except NotReady as error:
        raise click.ClickException(explain(error, drafts=drafts)) from None
    except HandoffBriefError as error:
        raise click.ClickException(explain(error)) from None


def _finish(outcome: Outcome) -> None:
    if outcome.exit_code:
        raise SystemExit(outcome.exit_code)


def _policy_option(command: Callable[..., None]) -> Callable[..., None]:
    """--policy, shared by every command that checks."""
    return click.option(
        "--policy", metavar="FILE",
        help="A readiness policy (TOML). Default: the [policy] table of handoff-brief.toml "
             "here, if any, else the built-in rules.")(command)


def _look_options(command: Callable[..., None]) -> Callable[..., None]:
    """--brand and --templates, shared by every command that renders."""
    command = click.option(
        "--templates", metavar="DIR",
        help="Use templates and styles from DIR where present (see: templates DIR).")(command)
    return click.option(
        "--brand", metavar="FILE",
        help="Brand file (TOML). Default: handoff-brief.toml here, if present.")(command)


_INPUTS_HELP = ("INPUT is a file, a folder (searched recursively) or '-' for stdin: .yaml/.yml "
                "(several documents separated by ---), .json (an object or a list), .jsonl "
                "(one handoff per line).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="handoff-brief")
def main() -> None:
    """Turn a qualified opportunity handoff into a seller-ready brief.

    A brief answers four questions at a glance: why did this pass, what was checked,
    what do we know versus infer, and what should the seller do next. Handoffs that
    cannot answer them are refused, with findings that say how to fix them.
    """


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output", metavar="PATH|DIR|-",
              help="Where to write; '-' is stdout; a folder for several handoffs. "
                   "Default: <id>.<format> here.")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Output format. Default: from the -o extension, else pdf.")
@click.option("--paper", type=click.Choice(PAPERS),
              help="Page size of the PDF. Default: the brand's, else a4.")
@click.option("--draft", is_flag=True,
              help="Render even if not handoff-ready; the brief is marked DRAFT.")
@click.option("--pdf-variant", type=click.Choice(PDF_VARIANTS),
              help="PDF/UA-1, or PDF/A-3 carrying the handoff as handoff.json.")
@_look_options
@_policy_option
def render(inputs: tuple[str, ...], output: str | None, fmt: str | None, paper: Any,
           draft: bool, pdf_variant: Any, brand: str | None, templates: str | None,
           policy: str | None) -> None:
    """Render handoffs as briefs: one file each, named by the handoff's id.

    Refuses a handoff with error-level findings (exit 1) unless --draft is given.

    \b
    Example:
        handoff-brief render samples/call-qualified.yaml -o acme.pdf
        handoff-brief render samples/qualified.yaml --format md -o -
        handoff-brief render samples/*.yaml --format md -o briefs
    """
    outcome = _outcome()
    with _user_errors():
        options = render_command.RenderOptions(
            sources=list(inputs), output=output, fmt=fmt, draft=draft, pdf_variant=pdf_variant,
            look=make_look(brand, templates, paper), stdout_is_terminal=sys.stdout.isatty(),
            policy=make_policy(policy))
        render_command.run(options, outcome)
    _finish(outcome)


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON array, one entry per handoff.")
@click.option("--pages/--no-pages", default=True, show_default=True,
              help="Render each ready handoff's PDF to check its page budget.")
@_look_options
@_policy_option
def check(inputs: tuple[str, ...], as_json: bool, pages: bool, brand: str | None,
          templates: str | None, policy: str | None) -> None:
    """Report readiness findings for handoffs, one block per handoff.

    Exit 0 when every handoff is valid and has no error-level finding, 1 otherwise.

    \b
    Example:
        handoff-brief check samples/*.yaml samples/weak/*.yaml
        handoff-brief check --json samples/weak/vague-next-action.yaml
    """
    outcome = _outcome()
    with _user_errors():
        check_command.run(list(inputs), outcome, as_json=as_json, pages=pages,
                          look=make_look(brand, templates), policy=make_policy(policy))
    _finish(outcome)


@main.command()
@click.argument("folder", metavar="DIR")
def templates(folder: str) -> None:
    """Write the built-in templates and styles into DIR, for editing.

    Render with --templates DIR afterwards: a file in DIR replaces the built-in one of
    the same name, and can extend it as {% extends "default:html/base.html.j2" %}.

    \b
    Example:
        handoff-brief templates my-look
        handoff-brief render samples/warmed.yaml --templates my-look
    """
    outcome = _outcome()
    with _user_errors():
        templates_command.run(folder, outcome)
    _finish(outcome)


@main.command()
@click.option("--tier", type=click.Choice(TIERS), default="call-qualified", show_default=True,
              help="The tier: its sections are in the starter.")
@click.argument("file", metavar="FILE")
def init(tier: Any, file: str) -> None:
    """Write a commented starter handoff for a tier into FILE, to fill in.

    Every field is there with what it is for; `check` reports it as not ready until the
    TODOs are filled in.

    \b
    Example:
        handoff-brief init --tier warmed acme.yaml
        handoff-brief check acme.yaml
    """
    outcome = _outcome()
    with _user_errors():
        init_command.init(tier, file, outcome)
    _finish(outcome)


@main.command()
@click.argument("folder", metavar="DIR")
def samples(folder: str) -> None:
    """Copy the sample handoffs into DIR: one ready handoff per tier, and weak/ ones that
    show each finding.

    \b
    Example:
        handoff-brief samples examples
        handoff-brief render examples/qualified.yaml --format md -o -
    """
    outcome = _outcome()
    with _user_errors():
        init_command.samples(folder, outcome)
    _finish(outcome)


@main.command()
@click.argument("brief", metavar="BRIEF.pdf")
def extract(brief: str) -> None:
    """Print the handoff JSON that a PDF/A-3 brief carries inside.

    \b
    Example:
        handoff-brief render samples/warmed.yaml --pdf-variant pdf/a-3b -o brief.pdf
        handoff-brief extract brief.pdf > handoff.json
    """
    outcome = _outcome()
    with _user_errors():
        extract_command.run(brief, outcome)
    _finish(outcome)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the handoff format.

    \b
    Example:
        handoff-brief schema > handoff.schema.json
    """
    from .commands.schema import schema_text

    click.echo(schema_text())


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--to", "to", multiple=True, metavar="ADDR",
              help="Recipient (repeatable). Default: the handoff's seller.email.")
@click.option("--cc", multiple=True, metavar="ADDR", help="Copy to (repeatable).")
@click.option("--from", "sender", metavar="ADDR", help="Sender, e.g. 'RevOps <ops@x.com>'.")
@click.option("--reply-to", metavar="ADDR", help="Where replies go.")
@click.option("--subject", metavar="TEMPLATE",
              help="Subject with {tier} {account} {action} {due} {id} {owner} {seller}.")
@click.option("--smtp", metavar="HOST[:PORT]", help="Send through this SMTP server.")
@click.option("--starttls", "security", flag_value="starttls",
              help="Upgrade the connection with STARTTLS (port 587 style).")
@click.option("--ssl", "security", flag_value="ssl", help="Connect over TLS (port 465 style).")
@click.option("--user", metavar="NAME",
              help="Log in as NAME; the password comes from $HANDOFF_SMTP_PASSWORD.")
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False),
              help="Trust the server certificate(s) in this PEM file.")
@click.option("--eml", metavar="PATH",
              help="Write RFC 5322 .eml files instead of sending (a folder for several).")
@click.option("--dry-run", is_flag=True, help="Print who would receive what; send nothing.")
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds one message may take, retries included.")
@_look_options
@_policy_option
def email(inputs: tuple[str, ...], to: tuple[str, ...], cc: tuple[str, ...],
          sender: str | None, reply_to: str | None, subject: str | None, smtp: str | None,
          security: str | None, user: str | None, cafile: str | None, eml: str | None,
          dry_run: bool, timeout: float, brand: str | None, templates: str | None,
          policy: str | None) -> None:
    """E-mail ready handoffs' briefs to their sellers: text, HTML and the PDF attached.

    Handoffs that are not ready are refused (there are no drafts by e-mail); the rest
    are sent over one connection, and a summary ends the run (exit 1 if any failed).

    \b
    Example:
        handoff-brief email samples/warmed.yaml --from 'RevOps <revops@example.com>' \\
            --dry-run
        handoff-brief email samples/*.yaml --from ops@example.com --eml outbox
        HANDOFF_SMTP_PASSWORD=... handoff-brief email samples/*.yaml \\
            --from ops@example.com --smtp smtp.example.com --starttls --user ops
    """
    outcome = _outcome()
    with _user_errors(drafts=False):
        options = email_command.EmailOptions(
            sources=list(inputs), to=list(to), cc=list(cc), sender=sender, reply_to=reply_to,
            subject=subject, smtp=smtp, security=security or "plain",  # type: ignore[arg-type]
            user=user, cafile=cafile, eml=eml, dry_run=dry_run, timeout=timeout,
            look=make_look(brand, templates), policy=make_policy(policy))
        email_command.run(options, outcome,
                          password=os.environ.get(email_command.PASSWORD_VARIABLE),
                          now=datetime.datetime.now(datetime.UTC))
    _finish(outcome)


@main.group(name="crm")
def crm_group() -> None:
    """Attach briefs to CRM records.

    The record ids come from the handoff's `crm:` section.

    \b
    Example:
        handoff-brief crm export --to hubspot samples/*.yaml -o hubspot-out
    """


crm_group.help = (crm_group.help or "").replace(
    "Attach briefs to CRM records.", f"Attach briefs to CRM records: {crm.labels()}.")
_CRM_CHOICE = click.Choice(crm.names())


@crm_group.command("export")
@click.option("--to", "target", type=_CRM_CHOICE, required=True, help="The CRM.")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output", required=True, metavar="DIR", help="Folder to write into.")
@_look_options
@_policy_option
def crm_export(target: Any, inputs: tuple[str, ...], output: str, brand: str | None,
               templates: str | None, policy: str | None) -> None:
    """Write each ready brief's PDF and what the CRM's own tools take.

    Always a manifest.json of what was exported and what was skipped, with the reason.

    \b
    Example:
        handoff-brief crm export --to salesforce samples/*.yaml -o crm-out
    """
    outcome = _outcome()
    with _user_errors():
        crm_command.export(target, list(inputs), output, outcome,
                           look=make_look(brand, templates), policy=make_policy(policy))
    _finish(outcome)


crm_export.help = (crm_export.help or "").replace(
    "\n\n    Always", "\n\n    " + crm.export_help() + " Always", 1)


@crm_group.command("push")
@click.option("--to", "target", type=_CRM_CHOICE, required=True, help="The CRM.")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--base-url", metavar="URL", help="API base URL, e.g. for a sandbox.")
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds one request may take, retries included.")
@_look_options
@_policy_option
def crm_push(target: Any, inputs: tuple[str, ...], base_url: str | None, timeout: float,
             brand: str | None, templates: str | None, policy: str | None) -> None:
    """Upload each ready brief to its record and add a note, once per brief.

    Pushing the same brief again attaches nothing new.

    \b
    Example:
        HUBSPOT_ACCESS_TOKEN=... handoff-brief crm push --to hubspot samples/*.yaml
    """
    outcome = _outcome()
    with _user_errors():
        crm_command.push(target, list(inputs), outcome, environ=os.environ, base_url=base_url,
                         timeout=timeout, look=make_look(brand, templates),
                         policy=make_policy(policy))
    _finish(outcome)


crm_push.help = (crm_push.help or "").replace(
    "\n\n    Pushing", "\n\n    " + crm.credentials_help() + " Pushing", 1)


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    """`--format pdf,md`: click names the option and the bad value in its message."""
    chosen = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [part for part in chosen if part not in FORMATS]
    allowed = ", ".join(FORMATS)
    if len(unknown) == 1:
        raise click.BadParameter(f"{unknown[0]!r} is not one of {allowed}", ctx, param)
    if unknown:
        listed = ", ".join(repr(part) for part in unknown)
        raise click.BadParameter(f"{listed} are not among {allowed}", ctx, param)
    if not chosen:
        raise click.BadParameter(f"{value!r} names no format; give a comma-separated list of "
                                 f"{allowed}", ctx, param)
    return chosen


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output", required=True, metavar="OUTDIR",
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the briefs.")
@click.option("--format", "formats", default="pdf", show_default=True, metavar="LIST",
              callback=_formats, help="Comma-separated: pdf, md, html.")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option("--cluster", metavar="ADDRESS",
              help="Render on a Dask cluster: 'local' (--jobs worker processes) or a "
                   "scheduler's tcp://HOST:PORT. Needs handoff-brief[cluster].")
@click.option("--suppress", multiple=True, type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path),
              help="A suppression list (CSV with domain, email, company or sha256 columns, or "
                   "one entry per line).")
@click.option("--dedupe", type=click.Choice(["exact", "strict"]), default="exact",
              show_default=True,
              help="strict: similar company names are duplicates (and suppress), not only "
                   "listed for review.")
@click.option("--similarity", type=click.FloatRange(50, 100), default=92, show_default=True,
              help="Score (0-100) from which two company names count as similar.")
@click.option("--paper", type=click.Choice(PAPERS), help="Default: the brand's, else a4.")
@click.option("--draft", is_flag=True, help="Also render handoffs that are not ready, marked.")
@click.option("--force", is_flag=True, help="Render again even what is up to date.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--follow-links", is_flag=True,
              help="Read files that links in the input folders lead to outside them.")
@_look_options
@_policy_option
def batch(inputs: tuple[str, ...], output: Path, formats: tuple[str, ...], jobs: int | None,
          cluster: str | None, suppress: tuple[Path, ...], dedupe: str, similarity: float,
          paper: Any, draft: bool, force: bool, as_json: bool, follow_links: bool,
          brand: str | None, templates: str | None, policy: str | None) -> None:
    """Render many handoffs: de-duplicated, suppressed, incremental, in parallel.

    Every handoff is reported once as rendered, unchanged, not_ready, invalid, duplicate,
    suppressed or failed, in OUTDIR/report.json and OUTDIR/report.md. Exit 1 if any was
    invalid, not ready or failed; Ctrl-C or SIGTERM stop it with the reports written (exit
    130 or 143), and running it again finishes the work.

    \b
    Example:
        handoff-brief batch samples/ -o briefs --format pdf,md
    """
    from .batch import BatchOptions, Hygiene, Terminated
    from .progress import ProgressPrinter

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, terminate)

    stderr = sys.stderr
    progress = ProgressPrinter(stderr) if not as_json or stderr.isatty() else None
    outcome = _outcome()
    with _user_errors():
        options = BatchOptions(inputs=list(inputs), outdir=output,
                               formats=formats,  # type: ignore[arg-type]
                               jobs=jobs or 0, suppress=list(suppress), draft=draft,
                               force=force, look=make_look(brand, templates, paper),
                               policy=make_policy(policy),
                               follow_links=follow_links, cluster=cluster,
                               hygiene=Hygiene(dedupe == "strict", similarity))
        batch_command.run(options, outcome, as_json=as_json, progress=progress)
    _finish(outcome)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (other than loopback only with HANDOFF_API_TOKEN).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port (0: any free one; the line `serving on URL` says which).")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option("--data-dir", metavar="DIR", default="handoff-brief-data", show_default=True,
              help="Jobs (SQLite) and their briefs.")
@click.option("--max-queue", type=click.IntRange(min=1), default=16, show_default=True,
              help="Renders that may wait for a worker; more get 429.")
@click.option("--render-timeout", type=click.FloatRange(min=0.01), default=60.0,
              show_default=True, help="Seconds one render may take before a 503.")
@click.option("--head-timeout", type=click.FloatRange(min=0.1), default=10.0,
              show_default=True,
              help="Seconds a client has to send a request's line and headers.")
@click.option("--suppress", multiple=True, type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path),
              help="A suppression list for jobs (repeatable).")
@click.option("--callback-host", "callback_hosts", multiple=True, metavar="HOST[:PORT]",
              help="A host that job callbacks may go to (repeatable).")
@click.option("--paper", type=click.Choice(PAPERS), help="Default: the brand's, else a4.")
@click.option("--policy", "policies", multiple=True, metavar="[NAME=]FILE",
              help="A readiness policy (TOML); several as NAME=FILE, chosen per request with "
                   "?policy=NAME (the first is the default).")
@_look_options
def serve(host: str, port: int, jobs: int | None, data_dir: str, max_queue: int,
          render_timeout: float, head_timeout: float, suppress: tuple[Path, ...],
          callback_hosts: tuple[str, ...], paper: Any, brand: str | None, templates: str | None,
          policies: tuple[str, ...]) -> None:
    """Serve the API (/v1, OpenAPI at /docs) and the review page (/) over HTTP.

    HANDOFF_API_TOKEN set: every /v1 request needs `Authorization: Bearer <token>`; not
    set: only a loopback --host is allowed. HANDOFF_CALLBACK_SECRET signs job callbacks.
    Stop it with Ctrl-C or SIGTERM; jobs in progress resume at the next start.

    \b
    Example:
        handoff-brief serve --port 8000 --data-dir /var/lib/handoff-brief
    """
    from .commands import serve as serve_command
    from .service.settings import ServiceSettings

    with _user_errors():
        settings = ServiceSettings(
            data_dir=serve_command.data_folder(data_dir), look=make_look(brand, templates, paper),
            jobs=jobs or 0, max_queue=max_queue, render_deadline=render_timeout,
            head_timeout=head_timeout,
            suppress=tuple(suppress), callback_hosts=tuple(callback_hosts),
            policies=serve_command.policies(policies))
        settings = serve_command.settings_from_environment(settings)
        serve_command.serve(settings, host, port, lambda line: click.echo(line))


@main.group(name="policy")
def policy_group() -> None:
    """Readiness policies: a buyer's standard for when a handoff is ready.

    A policy is a TOML file given with --policy FILE, or the [policy] table of
    handoff-brief.toml here; it sets each rule's level (error, warning, off) and the
    thresholds. Without one, the built-in rules apply.

    \b
    Example:
        handoff-brief policy show > policy.toml
    """


@policy_group.command("show")
@_policy_option
def policy_show(policy: str | None) -> None:
    """Print the policy in force as TOML: every key, every rule, with its value.

    \b
    Example:
        handoff-brief policy show > policy.toml
        handoff-brief policy show --policy policy.toml
    """
    from .commands.policy import show_text

    with _user_errors():
        text = show_text(policy, Path.cwd())
    click.echo(text, nl=False)


@policy_group.command("schema")
def policy_schema() -> None:
    """Print the JSON Schema of a policy file (and of the [policy] table).

    \b
    Example:
        handoff-brief policy schema > policy.schema.json
    """
    from .commands.policy import schema_text

    click.echo(schema_text())


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output", required=True, metavar="REPORT.html|REPORT.pdf|-",
              help="Where to write the report; '-' is stdout (HTML).")
@click.option("--format", "fmt", type=click.Choice(("html", "pdf")),
              help="Report format. Default: from the -o extension.")
@click.option("--suppress", multiple=True, type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path),
              help="A suppression list (repeatable), as for batch.")
@click.option("--by", type=click.Choice(("prepared_by", "provider", "tier")),
              default="prepared_by", show_default=True, help="What the groups are.")
@_policy_option
def diagnose(inputs: tuple[str, ...], output: str, fmt: str | None,
             suppress: tuple[Path, ...], by: Any, policy: str | None) -> None:
    """Measure how well handoffs answer the four questions: a report for the buyer.

    Checks every handoff (renders no brief) and writes one self-contained page, HTML or
    the same as PDF: the verdict, the four questions measured, hygiene (invalid,
    duplicates, suppressed), each group's readiness (--by), every finding with its fix,
    and the handoffs to send back. Exit 0 once the report is written.

    \b
    Example:
        handoff-brief diagnose samples/ -o diagnosis.html
        handoff-brief diagnose samples/ -o diagnosis.pdf --by tier
    """
    from .commands import diagnose as diagnose_command

    outcome = _outcome()
    with _user_errors():
        options = diagnose_command.DiagnoseOptions(
            inputs=list(inputs), output=output, fmt=fmt,  # type: ignore[arg-type]
            suppress=list(suppress), by=by, policy=make_policy(policy))
        diagnose_command.run(options, outcome)
    _finish(outcome)


for _command in (render, check, batch, diagnose, email, crm_export, crm_push):
    _command.help = (_command.help or "").replace(
        "\n\n    \b\n    Example:", f"\n\n    {_INPUTS_HELP}\n\n    \b\n    Example:", 1)
