"""Batches on a Dask cluster: a real LocalCluster of worker processes on loopback, started
once for the module, against the local pool."""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

from handoff_brief import batch as batch_module  # noqa: E402
from handoff_brief import cluster as cluster_module  # noqa: E402
from handoff_brief.batch import WORKER_DIED, BatchOptions, run  # noqa: E402
from handoff_brief.cli import main  # noqa: E402
from handoff_brief.cluster import ClusterError, ClusterExecutor, cluster_executor  # noqa: E402

from .conftest import READY  # noqa: E402


@pytest.fixture(scope="module")
def executor() -> Iterator[ClusterExecutor]:
    # A lost task is run again once; a second loss fails it (the default allows three).
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            cluster_executor("local", 2) as cluster:
        yield cluster


def handoff(n: int, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(READY)
    data["id"] = f"lead-{n}"
    data["account"]["website"] = f"https://company-{n}.example"
    data["contacts"][0]["email"] = f"buyer@company-{n}.example"
    data.update(changes)
    return json.loads(json.dumps(data, default=str))


def write_all(folder: Path, items: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "leads.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def options(outdir: Path, path: Path, **changes: Any) -> BatchOptions:
    values: dict[str, Any] = {"inputs": [str(path)], "outdir": outdir, "formats": ("md",),
                              "jobs": 2}
    values.update(changes)
    return BatchOptions(**values)


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def mixed(folder: Path) -> Path:
    """Rendered, duplicate, invalid and not-ready handoffs in one file."""
    weak = handoff(4)
    del weak["next_action"]["due"]
    return write_all(folder, [handoff(1), handoff(2), handoff(1, prepared_on="2026-01-01"),
                              {"id": "broken"}, weak, handoff(3)])


class _NoFiles(distributed.WorkerPlugin):
    """A worker that shares no filesystem with the batch: writing a file there fails."""

    def setup(self, worker: Any) -> None:
        self.original = batch_module.write_output, batch_module.ensure_folder

        def refuse(path: Any, *args: Any) -> None:
            raise AssertionError(f"a worker wrote {path}")

        batch_module.write_output = batch_module.ensure_folder = refuse

    def teardown(self, worker: Any) -> None:
        batch_module.write_output, batch_module.ensure_folder = self.original


@pytest.fixture
def no_shared_files(executor: ClusterExecutor) -> Iterator[None]:
    executor.client.register_plugin(_NoFiles(), name="no-shared-files")
    yield
    executor.client.unregister_worker_plugin("no-shared-files")


@pytest.mark.usefixtures("no_shared_files")
def test_classification_and_outputs_are_those_of_the_local_pool(
        executor: ClusterExecutor, tmp_path: Path) -> None:
    path = mixed(tmp_path / "in")
    local = run(options(tmp_path / "local", path, formats=("md", "pdf")))
    remote = run(options(tmp_path / "cluster", path, formats=("md", "pdf")), executor=executor)
    assert [e.status for e in remote.entries] == [
        "rendered", "rendered", "duplicate", "invalid", "not_ready", "rendered"]
    assert remote.as_dict() == local.as_dict()
    made = files(tmp_path / "cluster")
    assert made == files(tmp_path / "local")
    assert {"lead-1.md", "lead-1.pdf", ".handoff-brief/lead-3.json"} <= set(made)
    assert made["lead-2.pdf"].startswith(b"%PDF")
    again = run(options(tmp_path / "cluster", path, formats=("md", "pdf")), executor=executor)
    assert again.counts["unchanged"] == 3 and again.counts["rendered"] == 0


@pytest.mark.usefixtures("no_shared_files")
def test_a_yaml_stream_and_a_json_list_are_cut_on_the_cluster_too(
        executor: ClusterExecutor, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.yaml").write_text("\n---\n".join(json.dumps(handoff(n)) for n in (1, 2, 3)))
    (folder / "b.json").write_text(json.dumps([handoff(n) for n in (4, 5)], indent=2))
    local = run(options(tmp_path / "local", folder))
    remote = run(options(tmp_path / "cluster", folder), executor=executor)
    assert [e.position for e in remote.entries] == [
        f"{folder / 'a.yaml'}:1", f"{folder / 'a.yaml'}:3", f"{folder / 'a.yaml'}:5",
        f"{folder / 'b.json'}[0]", f"{folder / 'b.json'}[1]"]
    assert remote.counts["rendered"] == 5 and remote.as_dict() == local.as_dict()
    assert files(tmp_path / "cluster") == files(tmp_path / "local")


def test_the_command_line_uses_a_running_scheduler(executor: ClusterExecutor,
                                                   tmp_path: Path) -> None:
    from click.testing import CliRunner

    path = write_all(tmp_path / "in", [handoff(1), handoff(2)])
    with distributed.get_task_stream(executor.client) as tasks:
        result = CliRunner().invoke(main, ["batch", str(path), "-o", str(tmp_path / "out"),
                                           "--format", "md", "--cluster", executor.address],
                                    catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert sum(task["key"].startswith("_render_job") for task in tasks.data) == 2
    assert "2 handoffs: 2 rendered" in result.output
    assert (tmp_path / "out" / "lead-2.md").read_text().startswith("# ")


def test_an_address_of_another_form_is_refused(tmp_path: Path) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["batch", "samples", "-o", str(tmp_path),
                                       "--cluster", "10.0.0.5:8786"])
    assert result.exit_code == 1
    assert result.output == ("Error: --cluster 10.0.0.5:8786: is neither 'local' nor a "
                             "scheduler address such as tcp://10.0.0.5:8786\n")


def test_a_worker_with_another_installation_stops_the_batch(
        executor: ClusterExecutor, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(batch_module, "_installed", lambda options: "handoff-brief 0.0|other")
    path = write_all(tmp_path / "in", [handoff(1)])
    with pytest.raises(batch_module.HandoffBriefError, match="a cluster worker has another "
                                                            "handoff-brief"):
        run(options(tmp_path / "out", path), executor=executor)
    assert not (tmp_path / "out" / "lead-1.md").exists()


def _forked_ready_and_deaf_to_ctrl_c(batch_pid: int) -> tuple[bool, bool, bool]:
    import gc

    return (os.getppid() != batch_pid, gc.get_freeze_count() > 0 and "weasyprint" in sys.modules,
            signal.getsignal(signal.SIGINT) == signal.SIG_IGN)


def test_local_workers_are_forked_ready_and_leave_ctrl_c_to_the_batch(
        executor: ClusterExecutor) -> None:
    # Forked from the server that `prestart` started (not children of this process), which
    # imported Dask, the batch and WeasyPrint and froze them; SIGINT ignored, for the batch
    # to stop them.
    answers = executor.client.run(_forked_ready_and_deaf_to_ctrl_c, os.getpid())
    assert set(answers.values()) == {(True, True, True)}


def test_a_stop_while_the_cluster_starts_is_raised_once_it_is_up() -> None:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        held = cluster_module._Deferred()
        signal.raise_signal(signal.SIGINT)  # its handler runs before this returns: held
        assert held.came == [signal.SIGINT]
        with pytest.raises(KeyboardInterrupt):
            held.release()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_worker_that_joined_without_its_setup_checks_the_installation_first(
        tmp_path: Path, monkeypatch: Any) -> None:
    from handoff_brief.inputs import documents

    path = write_all(tmp_path / "in", [handoff(1)])
    document = next(iter(documents(str(path))))
    chosen = options(tmp_path / "out", path)

    def job(installed: str) -> Any:
        return batch_module.Job(document.position, document.position, document.data,
                                document.lines, "key", chosen, "settings", installed)

    monkeypatch.setattr(batch_module, "_WORKER", {})  # a fresh worker, never set up
    refused = batch_module._render_job(job("handoff-brief 0.0|other"))
    assert refused["failed"] and refused["error"].startswith(
        f"{document.position}: a cluster worker has another handoff-brief")
    assert "settings" not in batch_module._WORKER
    batch_module._render_job(job(batch_module._installed(chosen)))
    assert batch_module._WORKER["settings"] == batch_module._settings_key(chosen)


# -- workers that are lost: a plugin that makes one handoff's render hold or die --------------

class _Trap(distributed.WorkerPlugin):
    """On every worker (a replacement too): rendering `target` announces the worker's pid on
    the queue `started`, then waits for the event `release`, or kills its worker."""

    def __init__(self, target: str, started: str, release: str, *, die: bool) -> None:
        self.target, self.started, self.release, self.die = target, started, release, die

    def setup(self, worker: Any) -> None:
        trap = self
        self.original = original = batch_module.Brief

        class Trapped(original):  # type: ignore[misc, valid-type]
            def render(self, fmt: Any) -> Any:
                if self.id == trap.target:
                    distributed.Queue(trap.started).put(os.getpid())
                    if trap.die:
                        os.kill(os.getpid(), signal.SIGKILL)
                    distributed.Event(trap.release).wait()
                return super().render(fmt)

        batch_module.Brief = Trapped

    def teardown(self, worker: Any) -> None:
        batch_module.Brief = self.original


@pytest.fixture
def trap(executor: ClusterExecutor) -> Iterator[Any]:
    client, name = executor.client, f"trap-{uuid.uuid4().hex}"
    started = distributed.Queue(f"{name}-started", client=client)
    release = distributed.Event(f"{name}-release", client=client)

    def install(target: str, *, die: bool = False) -> None:
        client.register_plugin(_Trap(target, started.name, release.name, die=die), name=name)

    install.started, install.release = started, release  # type: ignore[attr-defined]
    yield install
    release.set()
    client.unregister_worker_plugin(name)


def test_a_worker_killed_mid_batch_has_its_task_run_elsewhere(
        executor: ClusterExecutor, trap: Any, tmp_path: Path) -> None:
    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 7)])
    trap("lead-3")
    killed: list[int] = []

    def kill_the_worker_rendering_lead_3() -> None:
        try:
            pid = trap.started.get(timeout=60)
            if pid in executor.client.run(os.getpid).values():  # a worker of the cluster
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        finally:
            trap.release.set()  # a retry on a worker with the trap goes straight through

    killer = threading.Thread(target=kill_the_worker_rendering_lead_3)
    killer.start()
    try:
        report = run(options(tmp_path / "out", path), executor=executor)
    finally:
        trap.release.set()
        killer.join()
    assert len(killed) == 1
    assert [e.status for e in report.entries] == ["rendered"] * 6 and report.ok
    run(options(tmp_path / "local", path))
    assert files(tmp_path / "out") == files(tmp_path / "local")


def test_a_handoff_that_kills_every_worker_it_runs_on_is_failed_not_lost(
        executor: ClusterExecutor, trap: Any, tmp_path: Path) -> None:
    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 5)])
    trap("lead-2", die=True)
    report = run(options(tmp_path / "out", path), executor=executor)
    assert [e.status for e in report.entries] == ["rendered", "failed", "rendered", "rendered"]
    assert report.entries[1].errors == [f"{path}:2: {WORKER_DIED}"]
    assert not (tmp_path / "out" / "lead-2.md").exists()
    assert json.loads((tmp_path / "out" / "report.json").read_text())["counts"]["failed"] == 1


def test_a_scheduler_without_workers_says_how_to_start_one(monkeypatch: Any) -> None:
    monkeypatch.setattr(cluster_module, "WORKERS_TIMEOUT", 0.5)
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address="127.0.0.1:0",
                                  host="127.0.0.1") as empty:
        address = empty.scheduler_address
        with pytest.raises(ClusterError) as caught, cluster_executor(address, 1):
            pass
    assert caught.value.message == (
        f"the Dask scheduler at {address} has had no worker for 0.5 s; start one with "
        f"`dask worker {address}` on a machine with handoff-brief installed")


def test_without_dask_the_option_says_what_to_install(tmp_path: Path, monkeypatch: Any) -> None:
    from click.testing import CliRunner

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "handoff_brief.cluster")
    path = write_all(tmp_path / "in", [handoff(1)])
    result = CliRunner().invoke(main, ["batch", str(path), "-o", str(tmp_path / "out"),
                                       "--cluster", "local"])
    assert (result.exit_code, result.output) == (
        1, "Error: --cluster: needs Dask, which is not installed; install it with pip install "
           "'handoff-brief[cluster]'\n")


def test_an_unreachable_scheduler_is_said_within_10_s() -> None:
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    start = time.monotonic()
    with pytest.raises(ClusterError) as caught, cluster_executor(address, 1):
        pass
    assert time.monotonic() - start < 10
    assert caught.value.message.startswith(f"cannot reach the Dask scheduler at {address} "
                                           "within 5 s")
    assert caught.value.message.endswith("check that `dask scheduler` runs there, that the "
                                         "host and port are right and that no firewall is "
                                         "in the way")
