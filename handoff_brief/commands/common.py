"""What every command shares: the outcome it prints into, usage problems, the look, paths."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..choices import FORMAT_SUFFIXES, FORMATS, Format, Paper
from ..errors import HandoffBriefError
from ..look import Look, find_brand, templates_folder
from ..policy import Policy, find_policy

Echo = Callable[[str, bool], None]


class UsageProblem(HandoffBriefError):
    """The command was called wrongly (exit 2), as opposed to bad input (exit 1)."""

    exit_code = 2


@dataclass
class Outcome:
    """What a command says, printed as it happens, and the exit code it ends with.

    With `echo` each line goes out at once (stdout lines with `err=False`); with `keep`
    the lines are also collected, for a caller that wants to read them afterwards.
    """

    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    exit_code: int = 0
    echo: Echo | None = None
    keep: bool = True

    def say(self, line: str) -> None:
        """A line of the command's result, on stdout."""
        self._emit(self.out, line, False)

    def note(self, line: str) -> None:
        """A line about the work (progress, per-handoff results, summaries), on stderr."""
        self._emit(self.err, line, True)

    def fail(self) -> None:
        self.exit_code = max(self.exit_code, 1)

    def _emit(self, lines: list[str], line: str, err: bool) -> None:
        if self.keep:
            lines.append(line)
        if self.echo is not None:
            self.echo(line, err)


def make_look(brand: str | None, templates: str | None, paper: Paper | None = None) -> Look:
    """The brand (given, else `handoff-brief.toml` here), the overrides and the paper."""
    return Look(brand=find_brand(brand, Path.cwd()), templates=templates_folder(templates),
                paper=paper)


def make_policy(policy: str | None) -> Policy:
    """The policy file given, else the `[policy]` table of `handoff-brief.toml` here, else
    the built-in rules."""
    return find_policy(policy, Path.cwd())


def output_format(output: str | None, fmt: str | None) -> Format:
    """`--format` if given, else the `-o` file's extension, else PDF."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageProblem(f"unknown format {fmt!r}; use pdf, md or html")
        return fmt
    if output is None or output == "-":
        return "pdf"
    suffix = Path(output).suffix.lower()
    if suffix not in FORMAT_SUFFIXES:
        raise UsageProblem(f"cannot tell the format from {output!r}; name the file .pdf, .md "
                           "or .html, or pass --format pdf|md|html")
    return FORMAT_SUFFIXES[suffix]


def plural(count: int, noun: str) -> str:
    """`1 handoff`, `2 handoffs`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
