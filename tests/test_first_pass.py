"""A batch's first pass: on the workers in chunks, in input order, and skipped for what an
unchanged re-run has checked before (recognised by its raw bytes, never parsed again)."""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from handoff_brief import batch as batch_module
from handoff_brief import first_pass, inputs
from handoff_brief.batch import run
from handoff_brief.model import Handoff
from handoff_brief.policy import load_policy

from .test_batch import handoff, options, write_all


class Counted:
    """How often handoffs are parsed (JSON Lines lines, whole files) and validated."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parsed = self.validated = 0
        parse, stream = inputs.parse_bytes, inputs.yaml_documents
        validate = Handoff.model_validate

        def counting_parse(*args: Any, **kwargs: Any) -> Any:
            self.parsed += 1
            return parse(*args, **kwargs)

        def counting_stream(*args: Any, **kwargs: Any) -> Any:
            self.parsed += 1
            return stream(*args, **kwargs)

        def counting_validate(*args: Any, **kwargs: Any) -> Any:
            self.validated += 1
            return validate(*args, **kwargs)

        monkeypatch.setattr(inputs, "parse_bytes", counting_parse)
        monkeypatch.setattr(inputs, "yaml_documents", counting_stream)
        monkeypatch.setattr(Handoff, "model_validate", counting_validate)

    def reset(self) -> tuple[int, int]:
        seen = (self.parsed, self.validated)
        self.parsed = self.validated = 0
        return seen


def test_an_unchanged_rerun_parses_nothing(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch)
    items = [handoff(n) for n in range(8)]
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(handoff(20)))
    path = write_all(tmp_path, items)
    batch = options(tmp_path, path, tmp_path / "one.yaml")
    first = run(batch)
    assert [e.status for e in first.entries] == ["rendered"] * 9
    # pass one reads each once; pass two once more, on the worker, to render it
    assert counted.reset() == (18, 18)

    again = run(batch)
    assert [e.status for e in again.entries] == ["unchanged"] * 9
    assert counted.reset() == (0, 0)
    assert [(e.findings, e.outputs) for e in again.entries] == \
        [(e.findings, e.outputs) for e in first.entries]

    items[3]["prepared_by"] = "Ana Lima"
    write_all(tmp_path, items)
    changed = run(batch)
    assert [e.status for e in changed.entries] == ["unchanged"] * 3 + ["rendered"] + \
        ["unchanged"] * 5
    assert counted.reset() == (2, 2)  # that line only: checked, then rendered


def test_a_new_policy_checks_again_and_force_too(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch)
    path = write_all(tmp_path, [handoff(n) for n in range(4)])
    run(options(tmp_path, path))
    counted.reset()
    (tmp_path / "strict.toml").write_text('name = "strict"\nstale_after_days = 30\n')
    strict = load_policy(tmp_path / "strict.toml")
    run(options(tmp_path, path, policy=strict))
    parsed, _ = counted.reset()
    assert parsed >= 4  # every handoff checked again under the new policy
    run(options(tmp_path, path, policy=strict))
    assert counted.reset() == (0, 0)
    run(options(tmp_path, path, policy=strict, force=True))
    assert counted.reset() == (8, 8)


@pytest.mark.parametrize("index", [b"", b"{not json", b'{"version": 0, "units": {}}',
                                   b'{"version": 1, "units": {"k": 3}, "stamps": {}}',
                                   b'[1, 2]'])
def test_a_damaged_index_only_costs_a_check(tmp_path: Path, index: bytes,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch)
    path = write_all(tmp_path, [handoff(n) for n in range(3)])
    run(options(tmp_path, path))
    counted.reset()
    (tmp_path / "out" / ".handoff-brief" / "checked.json").write_bytes(index)
    report = run(options(tmp_path, path))
    assert [e.status for e in report.entries] == ["unchanged"] * 3
    assert counted.reset()[0] == 3


def _recording_chunk(chunk: list[first_pass.Unit],
                     setup: first_pass.Setup) -> list[list[first_pass.Checked]]:
    """`check_chunk`, noting the process it ran in (workers fork with this module)."""
    with open(os.environ["CHUNK_LOG"], "a") as log:
        log.write(f"{os.getpid()} {len(chunk)} {gc.isenabled()}\n")
    return first_pass.check_chunk(chunk, setup)


def test_pass_one_runs_on_the_workers_in_chunks_and_keeps_the_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = [handoff(n) for n in range(23)]
    items[5]["tier"] = "hot"  # invalid
    items[9] = handoff(2, prepared_on="2026-11-01")  # a duplicate of the older kind
    path = write_all(tmp_path / "in", items)
    alone = run(options(tmp_path / "alone", path))

    log = tmp_path / "chunks.log"
    monkeypatch.setenv("CHUNK_LOG", str(log))
    monkeypatch.setattr(first_pass, "CHUNK_UNITS", 4)
    monkeypatch.setattr(batch_module, "check_chunk", _recording_chunk)
    pooled = run(options(tmp_path / "pooled", path, jobs=2))
    ran = [line.split() for line in log.read_text().splitlines()]
    assert sorted(int(size) for _, size, _ in ran) == [3] + [4] * 5
    assert {int(pid) for pid, _, _ in ran} - {os.getpid()}, "no chunk ran on a worker"
    assert str(os.getpid()) not in {pid for pid, _, _ in ran[:-1]}
    # forked while the batch had the cycle collector off, the workers have it on
    assert {collecting for pid, _, collecting in ran if pid != str(os.getpid())} == {"True"}

    def shown(report: Any) -> list[Any]:
        return [(e.position, e.status, e.findings, e.errors, e.reason) for e in report.entries]

    assert shown(pooled) == shown(alone)
    assert [e.position for e in pooled.entries] == [f"{path}:{n}" for n in range(1, 24)]

    # half of it known from the index, half not: still in input order
    for n in range(0, 23, 2):
        items[n]["prepared_by"] = "Ana Lima"
    write_all(tmp_path / "in", items)
    mixed = run(options(tmp_path / "pooled", path, jobs=2))
    assert [e.position for e in mixed.entries] == [f"{path}:{n}" for n in range(1, 24)]


def _dying_chunk(chunk: list[first_pass.Unit],
                 setup: first_pass.Setup) -> list[list[first_pass.Checked]]:
    if os.environ.get("DIE_IN") == "worker" and os.getpid() != int(os.environ["BATCH_PID"]):
        os._exit(9)  # the OOM killer, say
    return first_pass.check_chunk(chunk, setup)


def test_a_worker_dying_in_pass_one_loses_nothing(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_all(tmp_path, [handoff(n) for n in range(12)])
    monkeypatch.setenv("DIE_IN", "worker")
    monkeypatch.setenv("BATCH_PID", str(os.getpid()))
    monkeypatch.setattr(first_pass, "CHUNK_UNITS", 4)
    monkeypatch.setattr(batch_module, "check_chunk", _dying_chunk)
    report = run(options(tmp_path, path, jobs=2))
    assert [e.status for e in report.entries] == ["rendered"] * 12


def test_report_html_is_drawn_again_only_when_what_it_shows_changed(tmp_path: Path) -> None:
    items = [handoff(n) for n in range(3)]
    path = write_all(tmp_path, items)
    batch = options(tmp_path, path, diagnosis=True)
    run(batch)
    page = tmp_path / "out" / "report.html"
    page.write_text("left as it was")  # a redrawn page would replace this
    run(batch)
    assert page.read_text() == "left as it was"
    items[1]["next_action"]["action"] = "Follow up"
    write_all(tmp_path, items)
    run(batch)
    assert "next-action-vague" in page.read_text()


def test_report_json_has_one_handoff_per_line(tmp_path: Path) -> None:
    path = write_all(tmp_path, [handoff(n) for n in range(3)])
    run(options(tmp_path, path))
    text = (tmp_path / "out" / "report.json").read_text()
    lines = text.splitlines()
    assert [json.loads(line.rstrip(","))["position"] for line in lines
            if line.startswith('    {"file"')] == [f"{path}:{n}" for n in (1, 2, 3)]
    assert json.loads(text)["counts"]["rendered"] == 3
