"""The service's `WorkerPool`: real forkserver workers, killed, overrun, flooded and stopped.

What a worker runs is defined here at module level (a worker imports it by name). Workers
are made to wait on FIFOs the test writes to, never on sleeps; processes are found in
/proc and waited for by their pidfd.
"""

from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future
from pathlib import Path

import pytest

from handoff_brief.errors import BadSetting, HandoffBriefError
from handoff_brief.service.pool import Busy, Overran, WorkerDied, WorkerPool

from .processes import process_tree, still_alive

#: Seconds any one wait in these tests may take before it counts as a hang.
PATIENCE = 30


# -- what the workers run ---------------------------------------------------------------------

def ready() -> None:
    """A setup with nothing to do."""


class SetupFailed(Exception):
    pass


def setup_fails(message: str) -> None:
    raise SetupFailed(message)


def setup_raises_bad_setting() -> None:
    raise BadSetting("templates", "no such folder")  # its __init__ takes two arguments


def setup_fails_second(folder: str) -> None:
    """Records this worker's pid; the first worker to get here is set up, the next fails."""
    Path(folder, str(os.getpid())).touch()
    try:
        os.close(os.open(Path(folder, "first"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        raise SetupFailed("the second worker cannot set up") from None


def hold(started: str | None, go: str, label: str = "held") -> str:
    """Say so on `started` (a FIFO), then wait until the test writes to `go`."""
    if started is not None:
        descriptor = os.open(started, os.O_WRONLY)
        os.write(descriptor, b"s")
        os.close(descriptor)
    with open(go, "rb") as handle:
        handle.read(1)
    return label


def block_forever() -> None:
    threading.Event().wait()


def kill_myself() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def exit_now() -> None:
    os._exit(3)


def raise_bad_setting() -> None:
    raise BadSetting("format", "unknown format 'docx'")


def a_lock() -> threading.Lock:
    return threading.Lock()  # cannot be pickled back


# -- helpers ---------------------------------------------------------------------------------

def fifo(path: Path) -> int:
    """A FIFO at `path`, opened read-write here: neither side's open ever blocks, and what
    is written stays in it while this descriptor is open."""
    os.mkfifo(path)
    return os.open(path, os.O_RDWR)


def readable(descriptor: int) -> bytes:
    assert select.select([descriptor], [], [], PATIENCE)[0], "the worker never said so"
    return os.read(descriptor, 1)


def workers() -> set[int]:
    """This process's worker processes: the children of its fork server."""
    tree = process_tree()
    found: set[int] = set()
    for child in tree.get(os.getpid(), []):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"forkserver" in command:
            found.update(tree.get(child, []))
    return found


def alive(pids: set[int], timeout: float = PATIENCE) -> set[int]:
    return still_alive(pids, timeout)


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    """One worker, shared: each test counts replacements from where it starts."""
    shared = WorkerPool(1, ready, deadline=PATIENCE)
    yield shared
    shared.shutdown()


# -- calls -----------------------------------------------------------------------------------

def test_results_and_exceptions_come_back(pool: WorkerPool) -> None:
    assert pool.submit_now(pow, 2, 10).result(PATIENCE) == 1024
    assert pool.submit(sorted, [3, 1, 2], reverse=True).result(PATIENCE) == [3, 2, 1]
    with pytest.raises(ValueError, match="invalid literal for int"):
        pool.submit_now(int, "ten").result(PATIENCE)


def test_an_error_that_cannot_travel_back_still_says_what_it_was(pool: WorkerPool) -> None:
    before = pool.submit_now(os.getpid).result(PATIENCE)
    with pytest.raises(HandoffBriefError, match=r"^format: unknown format 'docx'$"):
        pool.submit_now(raise_bad_setting).result(PATIENCE)
    with pytest.raises(RuntimeError, match="TypeError: cannot pickle '_thread.lock' object"):
        pool.submit_now(a_lock).result(PATIENCE)
    assert pool.submit_now(os.getpid).result(PATIENCE) == before  # the same worker goes on


def test_a_call_that_cannot_be_sent_fails_alone(pool: WorkerPool) -> None:
    before = pool.submit_now(os.getpid).result(PATIENCE)
    with pytest.raises(TypeError, match="the call cannot be sent to a worker process"):
        pool.submit_now(lambda: 1).result(PATIENCE)
    assert pool.submit(os.getpid).result(PATIENCE) == before


@pytest.mark.parametrize("death", [kill_myself, exit_now])
def test_a_worker_that_dies_mid_call_is_replaced(pool: WorkerPool, death: object) -> None:
    old = pool.submit_now(os.getpid).result(PATIENCE)
    replaced = pool.replaced
    with pytest.raises(WorkerDied, match=r"^the worker process died \(killed by the system\?\) "
                                         "before it finished$"):
        pool.submit_now(death).result(PATIENCE)
    assert pool.replaced == replaced + 1
    new = pool.submit_now(os.getpid).result(PATIENCE)
    assert new != old and alive({old}) == set()


def test_a_call_over_its_deadline_is_stopped_and_its_worker_replaced(pool: WorkerPool) -> None:
    old = pool.submit_now(os.getpid).result(PATIENCE)
    replaced = pool.replaced
    with pytest.raises(Overran, match=r"^took longer than its 0\.2 s deadline; stopped$"):
        pool.submit_now(block_forever, deadline=0.2).result(PATIENCE)
    assert pool.replaced == replaced + 1
    assert alive({old}) == set()
    assert pool.submit_now(pow, 3, 3).result(PATIENCE) == 27
    assert pool.submit_now(os.getpid).result(PATIENCE) != old


def test_waiting_calls_go_before_background_work(pool: WorkerPool, tmp_path: Path) -> None:
    go = tmp_path / "go"
    release = fifo(go)
    done: list[str] = []
    try:
        futures = [pool.submit_now(hold, None, str(go), "first")]  # occupies the one worker
        futures += [pool.submit(str, label) for label in ("later-1", "later-2", "later-3")]
        futures += [pool.submit_now(str, label) for label in ("now-1", "now-2")]
        for future in futures:
            future.add_done_callback(lambda f: done.append(f.result()))
        os.write(release, b"x")
        for future in futures:
            future.result(PATIENCE)
    finally:
        os.close(release)
    assert done == ["first", "now-1", "now-2", "later-1", "later-2", "later-3"]


def test_too_many_waiting_is_busy_with_a_retry_after(tmp_path: Path) -> None:
    started, go = tmp_path / "started", tmp_path / "go"
    said, release = fifo(started), fifo(go)
    busy = WorkerPool(1, ready, deadline=PATIENCE, max_waiting=2)
    try:
        running = busy.submit(hold, str(started), str(go))
        assert readable(said) == b"s"  # the one worker is taken
        waiting = [busy.submit_now(pow, 2, n) for n in range(2)]
        with pytest.raises(Busy) as refused:
            busy.submit_now(pow, 2, 2)
        background = busy.submit(pow, 2, 3)  # background work is never refused
        os.write(release, b"x")
        assert [f.result(PATIENCE) for f in (running, *waiting, background)] == [
            "held", 1, 2, 8]
        assert busy.submit_now(pow, 2, 4).result(PATIENCE) == 16  # room again
    finally:
        busy.shutdown()
        os.close(said)
        os.close(release)
    assert (refused.value.waiting, refused.value.retry_after) == (2, 2)
    assert refused.value.message == "2 renders are already waiting; try again in 2 s"


# -- set-up and shutdown ---------------------------------------------------------------------

@pytest.mark.parametrize(("setup", "args", "error", "message"), [
    (setup_fails, ("no fonts here",), SetupFailed, "^no fonts here$"),
    (setup_raises_bad_setting, (), HandoffBriefError, "^templates: no such folder$"),
])
def test_a_setup_that_raises_is_raised_by_the_constructor(
        setup: object, args: tuple[str, ...], error: type[Exception], message: str) -> None:
    before = workers()
    with pytest.raises(error, match=message):
        WorkerPool(1, setup, args)  # type: ignore[arg-type]
    assert alive(workers() - before, timeout=5) == set()


def test_one_worker_failing_its_setup_stops_the_others(tmp_path: Path) -> None:
    before = workers()
    with pytest.raises(SetupFailed, match="^the second worker cannot set up$"):
        WorkerPool(2, setup_fails_second, (str(tmp_path),))
    started = {int(p.name) for p in tmp_path.iterdir() if p.name.isdigit()}
    assert len(started) == 2
    assert alive(started, timeout=5) == set()  # the one that was set up was stopped too
    assert alive(workers() - before, timeout=5) == set()


def test_shutdown_leaves_no_worker_behind() -> None:
    before = workers()
    stopping = WorkerPool(2, ready)
    mine = workers() - before
    assert len(mine) == 2
    assert stopping.submit(pow, 2, 5).result(PATIENCE) == 32
    stopping.shutdown()
    assert alive(mine, timeout=5) == set()
    assert workers() - before == set()
    with pytest.raises(RuntimeError, match="^the pool is shut down$"):
        stopping.submit_now(pow, 2, 2)
    with pytest.raises(RuntimeError, match="^the pool is shut down$"):
        stopping.submit(pow, 2, 2)


def test_shutdown_without_waiting_stops_a_call_in_flight(tmp_path: Path) -> None:
    started, go = tmp_path / "started", tmp_path / "go"
    said, release = fifo(started), fifo(go)
    before = workers()
    stopping = WorkerPool(1, ready)
    try:
        mine = workers() - before
        running = stopping.submit_now(hold, str(started), str(go))
        assert readable(said) == b"s"
        queued: Future[int] = stopping.submit(pow, 2, 2)
        stopping.shutdown(wait=False, cancel_futures=True)
        with pytest.raises(WorkerDied):
            running.result(PATIENCE)
        with pytest.raises(CancelledError):
            queued.result(PATIENCE)
        assert alive(mine, timeout=5) == set()
    finally:
        os.close(said)
        os.close(release)
    # Nothing started after the shutdown; each slot stops at its stop sign.
    assert alive(workers() - before, timeout=5) == set()
