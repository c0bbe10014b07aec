"""Help that cannot rot: every `Example:` line of every command's help runs as written, and
the README's layout names every module of the package."""

from __future__ import annotations

import glob
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import httpx
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from handoff_brief.cli import main

from .conftest import ROOT, SAMPLES
from .serving import START_TIMEOUT, environment, first_line
from .test_email import free_port


def commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from commands(command, prefix + (name,))


def examples(path: tuple[str, ...]) -> list[str]:
    """The command lines under `Example:` in the help of `handoff-brief PATH`, joined."""
    help_text = CliRunner().invoke(main, [*path, "--help"], catch_exceptions=False).output
    lines, joined = help_text.split("Example:", 1)[1].splitlines(), []
    current = ""
    for line in lines:
        if not line.strip():
            if current:
                break
            continue
        if not line.startswith("    "):
            break
        current += line.strip().removesuffix("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            joined.append(current.strip())
            current = ""
    return joined


LEAVES = [path for path, command in commands() if not isinstance(command, click.Group)]


def test_every_command_has_examples() -> None:
    assert LEAVES == [("batch",), ("check",), ("crm", "export"), ("crm", "push"),
                      ("diagnose",), ("email",), ("extract",), ("init",), ("policy", "schema"),
                      ("policy", "show"), ("render",), ("samples",), ("schema",),
                      ("serve",), ("templates",)]
    for path in LEAVES:
        assert examples(path), path


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    return AuthResult(success=isinstance(auth_data, LoginPassword), handled=False)


class _Sink:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        return "250 OK"


@pytest.fixture
def stand_ins(httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        dict[str, Any]]:
    """Loopback stand-ins for the servers the examples name: SMTP with STARTTLS, a CRM API."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    cafile = tmp_path_factory.mktemp("tls") / "ca.pem"
    authority.cert_pem.write_to_path(str(cafile))
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, authenticator=_authenticate,
                            auth_require_tls=True)
    controller.start()
    httpserver.expect_request("/crm/v3/objects/notes/search").respond_with_json(
        {"total": 0, "results": []})
    httpserver.expect_request("/files/v3/files").respond_with_json({"id": "501"})
    httpserver.expect_request("/crm/v3/objects/notes").respond_with_json({"id": "601"})
    yield {"smtp": f"127.0.0.1:{controller.port}", "cafile": str(cafile),
           "crm": httpserver.url_for("/"), "sink": sink}
    controller.stop()


def run_example(line: str, here: Path, stand_ins: dict[str, Any]) -> Any:
    words = shlex.split(line)
    env = {}
    while "=" in words[0]:
        name, _, _ = words.pop(0).partition("=")
        env[name] = "example-secret"
    assert words.pop(0) == "handoff-brief", line
    stdout_file = None
    if ">" in words:
        at = words.index(">")
        stdout_file, words = here / words[at + 1], words[:at]
    args: list[str] = []
    for word in words:
        matches = sorted(glob.glob(word, root_dir=here)) if "*" in word else []
        args += matches or [word]
    if "--smtp" in args:  # the server the example names, here on loopback
        args[args.index("--smtp") + 1] = stand_ins["smtp"]
        args += ["--cafile", stand_ins["cafile"]]
    if args[:2] == ["crm", "push"]:
        args += ["--base-url", stand_ins["crm"].rstrip("/")]
    if args[0] == "serve":
        return run_server(args, here)
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    if stdout_file is not None:
        stdout_file.write_bytes(result.stdout_bytes)
    return result


def run_server(args: list[str], here: Path) -> SimpleNamespace:
    """`serve` on any free loopback port, asked for /healthz once, stopped with SIGTERM."""
    args[args.index("--port") + 1] = "0"
    args[args.index("--data-dir") + 1] = str(here / "data")
    with open(here / "server.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "handoff_brief", *args],
                                   stdout=subprocess.PIPE, stderr=log, env=environment())
    assert process.stdout is not None
    line = first_line(process.stdout, START_TIMEOUT)
    try:
        health = httpx.get(line.removeprefix("serving on ").strip() + "/healthz").json()
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()
    output = line + (here / "server.log").read_text() + f"health: {health}"
    # uvicorn stops cleanly on SIGTERM, then ends by the same signal, as it should.
    exit_code = 0 if process.returncode == -signal.SIGTERM else process.returncode
    return SimpleNamespace(exit_code=exit_code, output=output)


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_examples_run_as_written(path: tuple[str, ...], tmp_path: Path, monkeypatch: Any,
                                 stand_ins: dict[str, Any]) -> None:
    shutil.copytree(SAMPLES, tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    for line in examples(path):
        result = run_example(line, tmp_path, stand_ins)
        # check exits 1 on the weak samples by design; nothing may be a usage error or fail.
        assert result.exit_code in (0, 1), f"{line}\n{result.output}"
        assert "Error:" not in result.output, f"{line}\n{result.output}"
        assert "FAILED" not in result.output, f"{line}\n{result.output}"


def test_the_readme_layout_names_every_module() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    package = ROOT / "handoff_brief"
    modules = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                     if path.name != "__init__.py")
    named = set(re.findall(r"[\w/]+\.py|[\w]+/", layout))
    missing = []
    for module in modules:
        folder = module.rsplit("/", 1)[0] + "/" if "/" in module else None
        name = module.rsplit("/", 1)[-1]
        if module not in named and not (folder in named and name in layout):
            missing.append(module)
    assert missing == []
