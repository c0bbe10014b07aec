"""The one retry policy for remote calls (SMTP and the CRMs' HTTP APIs), built on tenacity.

An attempt that fails in a way worth trying again raises `Transient`, optionally with the
wait the server asked for (`Retry-After`). Waits double from `backoff`, never exceed
`max_wait`, and every attempt and wait counts against the operation's `deadline`: when the
next wait would pass it, the last failure is final. Each retry is announced in one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

import tenacity

T = TypeVar("T")


class Transient(Exception):
    """One attempt failed in a way that may pass; `wait` is the server's own request."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    backoff: float = 1.0
    max_wait: float = 60.0
    deadline: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    notify: Callable[[str], None] | None = None

    def run(self, what: str, attempt: Callable[[], T]) -> T:
        """`attempt()` until it returns, raises something else, or the policy gives up.

        When it gives up, the last `Transient` is raised for the caller to word.
        """
        start = self.clock()

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            asked = error.wait if isinstance(error, Transient) else None
            if asked is not None:
                return min(max(asked, 0.0), self.max_wait)
            return min(self.backoff * 2 ** (state.attempt_number - 1), self.max_wait)

        class OutOfTime(tenacity.stop.stop_base):
            def __call__(self, state: tenacity.RetryCallState) -> bool:
                return clock() - start + wait(state) > deadline

        clock, deadline = self.clock, self.deadline

        def announce(state: tenacity.RetryCallState) -> None:
            if self.notify is None or state.outcome is None or state.next_action is None:
                return
            error = state.outcome.exception()
            reason = error.reason if isinstance(error, Transient) else str(error)
            self.notify(f"retrying {what} in {state.next_action.sleep:g} s ({reason}); "
                        f"attempt {state.attempt_number + 1} of {self.attempts}")

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts) | OutOfTime(),
            wait=wait,
            retry=tenacity.retry_if_exception_type(Transient),
            before_sleep=announce,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(attempt)


def retry_after(value: str | None, date: str | None = None) -> float | None:
    """Seconds from a `Retry-After` header: a number of seconds or an HTTP date (relative to
    the response's `Date`); None when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
        now = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError, IndexError):
        return None
    if now is None or when.tzinfo is None or now.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)
