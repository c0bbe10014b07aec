"""A policy through every channel: batch re-checks when it changes, and a page budget made
an error blocks e-mail and the CRMs like any error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from handoff_brief.cli import main

from .conftest import SAMPLES, pdf_text

ACME = "Acme buyer standard 2027"


def batch(tmp_path: Path, *policy: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                                       "--format", "md", "--jobs", "1", *policy])
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads((tmp_path / "out" / "report.json").read_text())
    return report


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {entry["id"]: entry["status"] for entry in report["handoffs"]}


def test_a_batch_rechecks_when_the_policy_changes(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for name in ("qualified", "warmed", "call-qualified"):
        shutil.copy(SAMPLES / f"{name}.yaml", tmp_path / "in")
    first = batch(tmp_path)
    assert "policy" not in first
    assert set(statuses(first).values()) == {"rendered"}
    written = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.md")
               if p.name != "report.md"}

    loose = tmp_path / "loose.toml"  # a threshold no sample reaches: every verdict stays
    loose.write_text(f'name = "{ACME} (loose)"\nstale_after_days = 300\n')
    second = batch(tmp_path, "--policy", str(loose))
    assert set(statuses(second).values()) == {"unchanged"}
    assert second["policy"]["name"] == f"{ACME} (loose)"

    strict = tmp_path / "strict.toml"
    strict.write_text(f'name = "{ACME}"\nrequired_checks = ["Open opportunity with a partner"]\n')
    third = batch(tmp_path, "--policy", str(strict))
    assert statuses(third) == {"acme-logistics-2026-11": "unchanged",
                               "nordwind-pumps-2026-11": "not_ready",
                               "brightline-clinics-2026-11": "not_ready"}
    assert third["policy"] == {"name": ACME, "digest": third["policy"]["digest"]}
    blocked = next(e for e in third["handoffs"] if e["status"] == "not_ready")
    assert [(f["rule"], f["policy"]) for f in blocked["findings"]] == [
        ("required-check-missing", ACME)]
    assert (tmp_path / "out" / "acme-logistics-2026-11.md").stat().st_mtime_ns == written[
        "acme-logistics-2026-11.md"]  # its brief did not change: not rendered again

    fourth = batch(tmp_path)  # back to the built-in rules: the two are ready again
    assert statuses(fourth)["nordwind-pumps-2026-11"] in ("rendered", "unchanged")
    assert "not_ready" not in statuses(fourth).values()


def page_budget_policy(tmp_path: Path) -> Path:
    policy = tmp_path / "one-page.toml"
    policy.write_text(f'name = "{ACME}"\n[rules]\nover-page-budget = "error"\n'
                      '[page_budget]\ncall-qualified = 1\n')
    return policy


def test_a_page_budget_made_an_error_blocks_crm_export(tmp_path: Path) -> None:
    policy = page_budget_policy(tmp_path)
    result = CliRunner().invoke(main, ["crm", "export", "--to", "hubspot", "--policy",
                                       str(policy), str(SAMPLES / "call-qualified.yaml"),
                                       str(SAMPLES / "qualified.yaml"), "-o",
                                       str(tmp_path / "out")])
    assert result.exit_code == 1
    assert (f"skipped: {SAMPLES / 'call-qualified.yaml'}: not handoff-ready "
            "(over-page-budget)") in result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [e["id"] for e in manifest["exported"]] == ["nordwind-pumps-2026-11"]


def test_a_page_budget_made_an_error_blocks_email(tmp_path: Path) -> None:
    policy = page_budget_policy(tmp_path)
    result = CliRunner().invoke(main, ["email", "--policy", str(policy), "--from",
                                       "ops@example.com", "--eml", str(tmp_path / "outbox"),
                                       str(SAMPLES / "call-qualified.yaml")])
    assert result.exit_code == 1
    assert "over-page-budget" in result.output
    assert f"(policy: {ACME})" in result.output
    assert not any((tmp_path / "outbox").glob("*.eml"))


def test_a_page_budget_made_an_error_refuses_render_unless_a_draft(tmp_path: Path) -> None:
    policy = page_budget_policy(tmp_path)
    refused = CliRunner().invoke(main, ["render", "--policy", str(policy),
                                        str(SAMPLES / "call-qualified.yaml"), "-o",
                                        str(tmp_path / "brief.pdf")])
    assert refused.exit_code == 1
    assert "over-page-budget" in refused.output
    assert not (tmp_path / "brief.pdf").exists()
    draft = CliRunner().invoke(main, ["render", "--policy", str(policy), "--draft",
                                      str(SAMPLES / "call-qualified.yaml"), "-o",
                                      str(tmp_path / "draft.pdf")])
    assert draft.exit_code == 0, draft.output
    assert "DRAFT" in pdf_text((tmp_path / "draft.pdf").read_bytes())[0].upper()
