"""`Api`: one CRM's HTTP API under the project's retry policy; `connect` builds it from the
environment. The only module of the CRM package that imports httpx.

429, 5xx and dropped connections are retried (honouring Retry-After) within the policy's
attempts and deadline, each retry announced through the policy; 401 and 403 raise
`AuthError`, which stops a run, as every further request would be refused too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from .. import __version__
from ..errors import HandoffBriefError
from ..retry import RetryPolicy, Transient, retry_after
from .adapter import Adapter

_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class PushError(HandoffBriefError):
    """One brief could not be attached; the rest go on."""


class AuthError(PushError):
    """The CRM refused the credentials: every further request would fail too."""


class MissingCredentials(HandoffBriefError):
    """The environment lacks a variable the CRM needs; `missing` names them."""

    def __init__(self, crm: Adapter, missing: list[str]) -> None:
        self.crm = crm
        self.missing = missing
        super().__init__(f"{crm.label} needs {' and '.join(missing)} in the environment")


class _Busy(Transient):
    """The CRM answered 429 or 5xx."""

    def __init__(self, status: int, wait: float | None) -> None:
        super().__init__(f"{status} {httpx.codes.get_reason_phrase(status)}", wait)
        self.status = status


class _Unreachable(Transient):
    """The request got no answer."""


class Api:
    """One CRM's HTTP API with retries; knows nothing of briefs."""

    def __init__(self, crm: Adapter, base_url: str, headers: Mapping[str, str], *,
                 policy: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.crm = crm
        self.policy = policy or RetryPolicy()
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=self.policy.deadline,
                                   transport=transport, follow_redirects=False,
                                   headers={"User-Agent": f"handoff-brief/{__version__}",
                                            **headers})

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """The decoded JSON answer (`{}` for an empty one), retried as the policy allows."""
        label = self.crm.label
        start = self.policy.clock()
        tries = 0

        def attempt() -> httpx.Response:
            nonlocal tries
            tries += 1
            left = self.policy.deadline - (self.policy.clock() - start)
            try:
                response = self.client.request(method, url, timeout=max(left, 0.1), **kwargs)
            except httpx.TransportError as error:
                raise _Unreachable(str(error) or type(error).__name__) from None
            status = response.status_code
            if status in (401, 403):
                raise AuthError(f"{label} refused the credentials ({status}): check "
                                f"{self.crm.secret} and that it may upload files and create "
                                "notes")
            if status == 429 or status >= 500:
                raise _Busy(status, retry_after(response.headers.get("Retry-After"),
                                                response.headers.get("Date")))
            return response

        try:
            response = self.policy.run(f"{label} {method} {url}", attempt)
        except _Busy as error:
            raise PushError(f"{label} answered {error.status} to {method} {url} {tries} "
                            f"time{'s' if tries != 1 else ''}; try again later") from None
        except Transient as error:
            raise PushError(f"cannot reach {label} at {self.client.base_url} "
                            f"({error.reason})") from None
        return _decoded(response, label, f"{method} {url}")


def _decoded(response: httpx.Response, label: str, request: str) -> Any:
    if response.status_code >= 400:
        excerpt = " ".join(response.text.split())[:300]
        raise PushError(f"{label} answered {response.status_code} to {request}: {excerpt}")
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise PushError(f"{label} answered {request} with something that is not "
                        "JSON") from None


def connect(crm: Adapter, environ: Mapping[str, str], *, base_url: str | None = None,
            policy: RetryPolicy | None = None,
            transport: httpx.BaseTransport | None = None) -> Api:
    """An `Api` for `crm` with credentials from the environment (never from arguments).

    `base_url` replaces the CRM's own address (a sandbox, a test server); credentials go
    only over https, or plain http to this machine.
    """
    token = environ.get(crm.secret, "").strip()
    where = environ.get(crm.location, "").strip() if crm.location else ""
    missing = [crm.location] if crm.location and not where and not base_url else []
    if not token:
        missing.append(crm.secret)
    if missing:
        raise MissingCredentials(crm, missing)
    url = base_url or crm.default_url(where)
    if not url.startswith("https://") and not _local(url):
        raise HandoffBriefError(f"refusing to send {crm.label} credentials to {url}: use "
                                "https (plain http only for a server on this machine)")
    return Api(crm, url, crm.headers(token), policy=policy, transport=transport)


def _local(url: str) -> bool:
    return httpx.URL(url).host in _LOOPBACK
