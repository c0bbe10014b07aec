"""`handoff-brief serve`: the HTTP service on uvicorn, on a socket bound here.

The socket is bound before the app starts (so `--port 0` takes any free port, and the
address printed is the one served); the line `serving on http://HOST:PORT` goes to stdout
once the workers are ready, the server's log to stderr.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..policy import Policy, find_policy
from ..service.callback import parse_allowed
from ..service.protocol import protocol
from ..service.settings import ServiceSettings
from ..suppress import Suppressions
from .common import UsageProblem

TOKEN_VARIABLE = "HANDOFF_API_TOKEN"
#: Connections and requests at once; past it uvicorn answers 503 at once.
MAX_CONNECTIONS = 256
SECRET_VARIABLE = "HANDOFF_CALLBACK_SECRET"


def settings_from_environment(settings: ServiceSettings,
                              environ: dict[str, str] | None = None) -> ServiceSettings:
    """The token and the callback secret, from the environment (never from options, which
    other users of the machine can read in the process list)."""
    environ = dict(os.environ) if environ is None else environ
    token = environ.get(TOKEN_VARIABLE) or None
    secret = environ.get(SECRET_VARIABLE) or None
    for name, value in ((TOKEN_VARIABLE, token), (SECRET_VARIABLE, secret)):
        if value is not None and (not value.isascii() or not value.isprintable()
                                  or value != value.strip()):
            raise UsageProblem(f"{name} holds characters a header cannot carry (spaces at "
                               "either end, control or non-ASCII characters); set it to "
                               "printable ASCII")
    return replace(settings, token=token, callback_secret=secret)


def check_settings(settings: ServiceSettings, host: str) -> None:
    """Refuse, before anything starts, what would make an unsafe or useless server."""
    if settings.token is None and not _loopback(host):
        raise UsageProblem(
            f"--host {host} would let anyone on the network use this server, and "
            f"{TOKEN_VARIABLE} is not set; set {TOKEN_VARIABLE} to a long random string "
            "(clients then send `Authorization: Bearer <token>`), or serve on 127.0.0.1 "
            "behind a reverse proxy that authenticates")
    if settings.callback_hosts and not settings.callback_secret:
        raise UsageProblem(f"--callback-host needs {SECRET_VARIABLE}: every callback is "
                           "signed with it so that the receiver can tell it came from here")
    parse_allowed(settings.callback_hosts)
    for path in settings.suppress:  # a bad list is refused now, not at the first job
        Suppressions().add_file(path)


def serve(settings: ServiceSettings, host: str, port: int,
          say: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM; `say` gets the `serving on` line."""
    import uvicorn

    from ..service.app import create_app

    check_settings(settings, host)
    sock = _bind(host, port)
    address = sock.getsockname()
    shown = f"[{address[0]}]" if ":" in address[0] else address[0]
    url = f"http://{shown}:{address[1]}"
    app = create_app(settings, on_ready=lambda: say(f"serving on {url}"))
    config = uvicorn.Config(app, log_level="info", access_log=True, server_header=False,
                            proxy_headers=False, timeout_graceful_shutdown=10,
                            log_config=_log_config(uvicorn.config.LOGGING_CONFIG),
                            http=protocol(settings.head_timeout), limit_concurrency=MAX_CONNECTIONS)
    uvicorn.Server(config).run(sockets=[sock])


def _log_config(default: dict[str, Any]) -> dict[str, Any]:
    """uvicorn's logging, the access log on stderr too: stdout carries only `serving on`."""
    config = copy.deepcopy(default)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise UsageProblem(f"--host {host}: not an address of this machine "
                           f"({error.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise UsageProblem(f"cannot listen on {host}:{port} ({error.strerror}); choose "
                           "another --port, or stop what is using it") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def policies(values: tuple[str, ...], folder: Path | None = None) -> tuple[tuple[str, Policy], ...]:
    """`--policy FILE` or `--policy NAME=FILE`, repeatable: the policies a request may name,
    each by its NAME (else the file's own `name`); none given: the one `find_policy` finds."""
    folder = folder or Path.cwd()
    if not values:
        found = find_policy(None, folder)
        return ((found.name, found),)
    named: dict[str, Policy] = {}
    for value in values:
        name, _, file = value.rpartition("=") if "=" in value else ("", "", value)
        policy = find_policy(file, folder)
        name = name.strip() or policy.name
        if name in named:
            raise UsageProblem(f"--policy {value}: a policy named {name!r} is given twice; "
                               "name each one: --policy NAME=FILE")
        named[name] = policy
    return tuple(named.items())


def data_folder(value: str | None) -> Path:
    return Path(value or "handoff-brief-data")
