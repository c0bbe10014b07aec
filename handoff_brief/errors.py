"""Errors a user can act on. The command line prints them as `Error: ...` and exits 1."""

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


class InvalidHandoff(HandoffBriefError):
    """The input is not a handoff of the format: every problem found, not just the first."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        count = len(problems)
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(
            f"{source} is not a valid handoff ({count} problem{'s' if count != 1 else ''}):\n"
            f"{lines}\nFix the input; `handoff-brief schema` prints the format as JSON Schema."
        )


class NotReady(HandoffBriefError):
    """The handoff loads, but error-level readiness findings block a seller-ready brief."""

    def __init__(self, source: str, findings: list[Finding], *, drafts: bool = True) -> None:
        self.source = source
        self.findings = findings
        blocking = [f for f in findings if f.level == "error"]
        count = len(blocking)
        lines = "\n".join(f"  {finding}" for finding in findings)
        hint = ("Fix the errors above, or pass --draft for a draft marked 'DRAFT - not "
                "handoff-ready'." if drafts else
                "Fix the errors above; a brief that is not handoff-ready is never e-mailed.")
        super().__init__(
            f"{source} is not handoff-ready ({count} error{'s' if count != 1 else ''}):\n"
            f"{lines}\n{hint}"
        )
