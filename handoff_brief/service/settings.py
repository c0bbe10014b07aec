"""How a service is set up: what `handoff-brief serve` takes, as one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..look import Look
from ..policy import DEFAULT_POLICY, Policy

#: Request bodies larger than this are refused before they are read to the end.
MAX_BODY_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class ServiceSettings:
    data_dir: Path
    look: Look = field(default_factory=Look)
    jobs: int = 0  # worker processes; 0: one per CPU
    max_queue: int = 16  # renders that may wait for a worker before a 429
    render_deadline: float = 60.0  # seconds for one render before a 503
    head_timeout: float = 10.0  # seconds for a request's line and headers
    suppress: tuple[Path, ...] = ()
    callback_hosts: tuple[str, ...] = ()
    token: str | None = None  # HANDOFF_API_TOKEN: every /v1 request must carry it
    callback_secret: str | None = None  # HANDOFF_CALLBACK_SECRET: signs callbacks
    callback_timeout: float = 10.0
    max_body: int = MAX_BODY_BYTES
    #: Readiness policies by the name a request gives (`?policy=NAME`); the first is used
    #: when a request names none.
    policies: tuple[tuple[str, Policy], ...] = (("default", DEFAULT_POLICY),)

    @property
    def policy_names(self) -> list[str]:
        return [name for name, _ in self.policies]
