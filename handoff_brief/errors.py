"""Errors a caller can act on, without a word of the command line in them.

The command line prints them as `Error: ...` and exits 1; it adds the hints that name its
options (`commands/wording.py`). A library caller gets the same facts as fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .check import Finding


class HandoffBriefError(Exception):
    """Base of every error caused by the input or the environment, never by a bug."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadSetting(HandoffBriefError):
    """A setting (a function argument; an option on the command line) cannot be used.

    `setting` names it as the library does (`sender`, `templates`, `brand`); the command
    line shows the option instead.
    """

    def __init__(self, setting: str, problem: str, *, value: str | None = None) -> None:
        self.setting = setting
        self.problem = problem
        self.value = value
        super().__init__(f"{setting}: {problem}")


@dataclass(frozen=True)
class Problem:
    """One reason a handoff is invalid, located as precisely as the parser allows."""

    source: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "message": self.message}


#: Problems a report lists for one handoff; the rest are counted (a body of 100,000 unknown
#: keys should not make an answer of megabytes).
SHOWN_PROBLEMS = 100


class InvalidHandoff(HandoffBriefError):
    """The input is not a handoff of the format: every problem found, not just the first."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        count = len(problems)
        #: One line for summaries: the source and how many problems.
        self.headline = (f"{source} is not a valid handoff "
                         f"({count} problem{'s' if count != 1 else ''})")
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{self.headline}:\n{lines}\nFix the input; `handoff-brief schema` "
                         "prints the format as JSON Schema.")

    def shown(self, limit: int = SHOWN_PROBLEMS) -> tuple[list[Problem], str | None]:
        """The first `limit` problems, and a line saying how many more there are (or None)."""
        more = len(self.problems) - limit
        return (self.problems[:limit],
                f"... and {more:,} more problems; fix these first" if more > 0 else None)


class NotReady(HandoffBriefError):
    """The handoff loads, but error-level readiness findings block a seller-ready brief."""

    def __init__(self, source: str, findings: list[Finding]) -> None:
        self.source = source
        self.findings = findings
        self.blocking = [f for f in findings if f.level == "error"]
        count = len(self.blocking)
        lines = "\n".join(f"  {finding}" for finding in findings)
        super().__init__(
            f"{source} is not handoff-ready ({count} error{'s' if count != 1 else ''}):\n{lines}"
        )

    @property
    def rules(self) -> list[str]:
        """The blocking rules, sorted, once each."""
        return sorted({f.rule for f in self.blocking})
