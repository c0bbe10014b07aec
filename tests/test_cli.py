"""The command line: exact messages, exit codes, file names, stdin and stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from handoff_brief import __version__
from handoff_brief.cli import main

from .conftest import ROOT, SAMPLES


def run(runner: CliRunner, *args: str, input: str | None = None) -> Any:
    return runner.invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.mark.parametrize("command", [[], ["render"], ["check"], ["schema"], ["email"],
                                     ["batch"], ["crm"], ["crm", "export"], ["crm", "push"]])
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_everywhere(runner: CliRunner, command: list[str], flag: str) -> None:
    result = run(runner, *command, flag)
    assert result.exit_code == 0
    assert result.output.startswith("Usage: ")
    if command:
        assert "Example:" in result.output


def test_version(runner: CliRunner) -> None:
    result = run(runner, "--version")
    assert (result.exit_code, result.output) == (0, f"handoff-brief, version {__version__}\n")


def test_python_dash_m() -> None:
    result = subprocess.run([sys.executable, "-m", "handoff_brief", "--version"],
                            capture_output=True, text=True, cwd=ROOT)
    assert (result.returncode, result.stdout) == (0, f"handoff-brief, version {__version__}\n")


def test_render_writes_id_named_file_here(runner: CliRunner, write: Any, ready: dict[str, Any],
                                          tmp_path: Path, monkeypatch: Any) -> None:
    path = write(ready)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = run(runner, "render", str(path), "--format", "md")
    assert result.exit_code == 0, result.output
    assert result.output == "wrote acme-logistics-2026-11.md\n"
    assert (here / "acme-logistics-2026-11.md").read_text().startswith("# Acme Logistics GmbH")


def test_format_follows_the_extension(runner: CliRunner, write: Any, ready: dict[str, Any],
                                      tmp_path: Path) -> None:
    path = write(ready)
    result = run(runner, "render", str(path), "-o", str(tmp_path / "brief.html"))
    assert result.exit_code == 0
    assert (tmp_path / "brief.html").read_text().startswith("<!DOCTYPE html>")


def test_unknown_extension_is_a_usage_error(runner: CliRunner, write: Any,
                                            ready: dict[str, Any]) -> None:
    result = run(runner, "render", str(write(ready)), "-o", "brief.txt")
    assert result.exit_code == 2
    assert result.output.endswith(
        "Error: cannot tell the format from 'brief.txt'; name the file .pdf, .md or .html, or "
        "pass --format pdf|md|html\n")


def test_stdin_to_stdout(runner: CliRunner, ready: dict[str, Any]) -> None:
    result = run(runner, "render", "-", "-o", "-", "--format", "md",
                 input=yaml.safe_dump(ready))
    assert result.exit_code == 0
    assert result.stdout.startswith("# Acme Logistics GmbH\n")
    assert "wrote" not in result.output


def test_invalid_input_exit_1_with_every_problem(runner: CliRunner, write: Any,
                                                 ready: dict[str, Any]) -> None:
    ready["tier"] = "hot"
    ready["evidnce"] = ready.pop("evidence")
    path = write(ready)
    result = run(runner, "render", str(path), "-o", "x.md")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"Error: {path} is not a valid handoff (2 problems):"
    assert lines[1].endswith(": tier: must be 'qualified', 'warmed' or 'call-qualified' "
                             "(got 'hot')")
    assert lines[2].endswith(": evidnce: unknown key; did you mean `evidence`?")
    assert lines[3] == "Fix the input; `handoff-brief schema` prints the format as JSON Schema."


def test_not_ready_exit_1_unless_draft(runner: CliRunner, write: Any, ready: dict[str, Any],
                                       tmp_path: Path) -> None:
    ready["disqualifiers"][0]["result"] = "flagged"
    path = write(ready)
    out = tmp_path / "brief.md"
    result = run(runner, "render", str(path), "-o", str(out))
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        f"Error: {path} is not handoff-ready (1 error):",
        "  error   disqualifier-flagged         disqualifiers[0].result: The check "
        "'Existing customer' came back flagged: this opportunity should not go to a seller "
        "until it is resolved.",
    ]
    assert not out.exists()
    result = run(runner, "render", str(path), "-o", str(out), "--draft")
    assert result.exit_code == 0
    assert f"{path}: rendered as a DRAFT, not handoff-ready" in result.output
    assert "DRAFT - not handoff-ready" in out.read_text()


def test_missing_file(runner: CliRunner) -> None:
    result = run(runner, "render", "nope.yaml")
    assert (result.exit_code, result.output) == (
        1, "Error: nope.yaml: no such file or folder; check the path\n")


def test_check_text_and_exit_codes(runner: CliRunner, write: Any, ready: dict[str, Any],
                                   tmp_path: Path) -> None:
    good = write(ready, "good.yaml")
    result = run(runner, "check", str(good))
    assert (result.exit_code, result.output) == (
        0, f"{good} (acme-logistics-2026-11): ready, 0 errors, 0 warnings\n")
    del ready["fit"]
    weak = write(ready, "weak.yaml")
    bad = write("id: [\n", "bad.yaml")
    result = run(runner, "check", str(good), str(weak), str(bad))
    assert result.exit_code == 1
    text = weak.read_text().splitlines()
    first, second = (next(i for i, line in enumerate(text, 1) if f"id: {evidence}" in line)
                     for evidence in ("headcount", "sites"))
    assert result.output.splitlines() == [
        f"{good} (acme-logistics-2026-11): ready, 0 errors, 0 warnings",
        f"{weak} (acme-logistics-2026-11): not ready, 1 error, 2 warnings",
        f"  error   fit-missing                  {weak}:1: fit: No fit reasons: add fit, each "
        "reason saying why this account passed and citing the evidence ids that show it.",
        f"  warning unused-evidence              {weak}:{first}: evidence[0]: Evidence "
        "'headcount' is cited nowhere: cite it from a fit reason or the text it supports, or "
        "remove it.",
        f"  warning unused-evidence              {weak}:{second}: evidence[1]: Evidence 'sites' "
        "is cited nowhere: cite it from a fit reason or the text it supports, or remove it.",
        f"{bad}: invalid, 1 problem",
        f"  {bad}:2: is not valid YAML: expected the node content, but found "
        "'<stream end>'",
        "3 handoffs: 1 ready, 1 not ready, 1 invalid",
    ]


def test_check_json(runner: CliRunner, write: Any, ready: dict[str, Any]) -> None:
    ready["disqualifiers"][1]["result"] = "unknown"
    good = write(ready, "good.yaml")
    bad = write({"id": "x"}, "bad.yaml")
    result = run(runner, "check", "--json", str(good), str(bad))
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report[0] == {
        "file": str(good), "id": "acme-logistics-2026-11", "valid": True, "ready": True,
        "errors": [],
        "findings": [{"rule": "disqualifier-unknown", "level": "warning",
                      "path": "disqualifiers[1].result",
                      "line": next(i for i, line in enumerate(good.read_text().splitlines(), 1)
                                   if "result: unknown" in line),
                      "message": "The check 'Do-not-contact list' came back unknown; it is "
                                 "shown as an uncertainty. Run it again before the seller "
                                 "acts, if you can."}],
        "notices": [],
    }
    assert report[1]["valid"] is False and report[1]["id"] is None
    assert [e["path"] for e in report[1]["errors"]] == [
        "tier", "prepared_on", "prepared_by", "account", "contacts"]
    assert report[1]["errors"][0] == {"path": "tier", "line": 1,
                                      "message": "is required but missing; add it"}


def test_schema_validates_the_samples(runner: CliRunner) -> None:
    result = run(runner, "schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator = jsonschema.Draft202012Validator(schema, format_checker=None)
    for path in sorted(SAMPLES.rglob("*.yaml")):
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        assert list(validator.iter_errors(data)) == [], path.name
    assert list(validator.iter_errors({"id": "x"}))
    assert list(validator.iter_errors({**yaml.safe_load(
        (SAMPLES / "qualified.yaml").read_text()), "tier": "hot"}))


def test_page_budget_is_measured_on_the_real_pdf(runner: CliRunner, write: Any,
                                                 ready: dict[str, Any], tmp_path: Path) -> None:
    ready["tier"] = "qualified"
    del ready["engagement"], ready["call"]
    ready["evidence"][2]["source"] = "Discovery call"
    ready["fit"][1]["evidence"] = ["mispicks", "budget"]
    ready["notes"] = "\n\n".join(f"Note {i}: the warehouse team described another part of "
                                 "their peak-season process in detail." for i in range(60))
    path = write(ready)
    result = run(runner, "render", str(path), "-o", str(tmp_path / "long.pdf"))
    assert result.exit_code == 0
    warning = (f"warning: {path}: over-page-budget: The PDF runs to 2 pages; "
               "a qualified brief should fit 1 page. The most room goes to notes (1.1 pages), "
               "evidence (0.1 page) and disqualifiers (0.1 page): shorten these first.")
    assert result.output.splitlines() == [warning, f"wrote {tmp_path / 'long.pdf'} (2 pages)"]
    quick = run(runner, "check", "--no-pages", str(path))
    assert "over-page-budget" not in quick.output
    measured = run(runner, "check", str(path))
    assert measured.exit_code == 0
    assert "  warning over-page-budget             The PDF runs to 2 pages" in measured.output
