"""`init` writes a starter that loads and is not ready; `samples` copies the samples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from handoff_brief import Brief, load
from handoff_brief.cli import main
from handoff_brief.commands import init as init_command

from .conftest import SAMPLES


@pytest.mark.parametrize(("tier", "sections"), [
    ("qualified", set()), ("warmed", {"engagement"}), ("call-qualified", {"engagement", "call"})])
def test_the_starter_loads_and_is_not_ready_until_filled_in(tmp_path: Path, tier: str,
                                                            sections: set[str]) -> None:
    path = tmp_path / "acme.yaml"
    outcome = init_command.init(tier, str(path), today=dt.date(2026, 11, 25))  # type: ignore[arg-type]
    assert outcome.err == [f"wrote {path}: a {tier} handoff to fill in; then run "
                           f"handoff-brief check {path}"]
    handoff = load(path)
    assert (handoff.tier, handoff.prepared_on) == (tier, dt.date(2026, 11, 25))
    assert {name for name in ("engagement", "call") if getattr(handoff, name)} == sections
    brief = Brief(handoff)
    assert not brief.ready
    assert {f.rule for f in brief.findings if f.level == "error"} == {
        "next-action-missing", "fit-without-evidence"}
    text = path.read_text()
    assert text.count("TODO") >= 20 and "# known | inferred" in text


def test_init_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("precious")
    result = CliRunner().invoke(main, ["init", str(path)], catch_exceptions=False)
    assert (result.exit_code, result.output) == (
        1, f"Error: {path} exists already; choose another file name\n")
    assert path.read_text() == "precious"


def test_samples_are_copied_once(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["samples", str(tmp_path / "ex")], catch_exceptions=False)
    assert result.exit_code == 0
    copied = sorted(p.relative_to(tmp_path / "ex") for p in (tmp_path / "ex").rglob("*.yaml"))
    assert copied == sorted(p.relative_to(SAMPLES) for p in SAMPLES.rglob("*.yaml"))
    again = CliRunner().invoke(main, ["samples", str(tmp_path / "ex")], catch_exceptions=False)
    assert again.exit_code == 1 and "exists already; choose an empty folder" in again.output
