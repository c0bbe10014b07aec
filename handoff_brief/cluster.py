"""Batches past one machine: an `Executor` that runs the briefs on a Dask cluster.

`cluster_executor("local", jobs)` starts a `LocalCluster` of `jobs` single-threaded worker
processes on loopback; `cluster_executor("tcp://HOST:PORT", jobs)` connects to a scheduler
that is already running (`dask scheduler`, with `dask worker tcp://HOST:PORT` on each
machine, every one with handoff-brief installed). Needs the `cluster` extra:
`pip install 'handoff-brief[cluster]'`.

The workers share no filesystem with this process: each is set up once by a worker plugin
(`ClusterExecutor.prepare_workers`), and a batch's workers send the outputs back as bytes
for this process to write. A task whose worker is lost is run again on another one by the
scheduler (up to its `distributed.scheduler.allowed-failures`); a task that raises is
tried again `RETRIES` times; a task that cannot be finished fails its future, so the batch
reports that handoff as failed, never loses it.

A local cluster is made to cost little more than the local pool (benchmarks/cluster.py):
its workers are forked from one server process that imported Dask, the batch and WeasyPrint
once, started first (`prestart`, which a caller may call earlier still) so that it imports
them while this process imports Dask; and its processes run without what only Dask's
dashboard would show (`LOCAL_CONFIG`). Dask itself is imported only once a cluster is used.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import io
import logging
import multiprocessing
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from multiprocessing import forkserver
from typing import TYPE_CHECKING, Any

from .errors import BadSetting, HandoffBriefError

if TYPE_CHECKING:
    from distributed import Client

LOCAL = "local"
#: Seconds to reach a scheduler before saying it cannot be reached.
CONNECT_TIMEOUT = 5
#: Seconds a scheduler without workers is given for one to join.
WORKERS_TIMEOUT = 30
#: Tries again of a task that raised (a lost worker is the scheduler's business).
RETRIES = 2
PLUGIN_NAME = "handoff-brief-setup"
#: The Dask settings of a local cluster's processes (its scheduler and nannies run in this
#: process), for as long as it runs.
LOCAL_CONFIG: dict[str, Any] = {
    # One task at a time per worker, none queued on it: a worker that dies takes only the
    # brief it was rendering with it, which alone counts towards allowed-failures.
    "distributed.scheduler.worker-saturation": 1.0,
    # Workers forked from the server process of `prestart`, which imported all they need
    # once, not each spawned afresh to import it all again (a second and a half of CPU
    # each); a forked worker also exits at once, where a spawned one took a third of a
    # second to tear down, and seconds on a busy machine.
    "distributed.worker.multiprocessing-method": "forkserver",
    # The statistical profiler samples the running task's stack every 10 ms; a PDF's layout
    # is deep, and sampling it cost a third of the throughput (the workers' setup stops it
    # too, on any cluster; this spares its samples until then, and those of idle workers).
    "distributed.worker.profile.enabled": False,
    # The scheduler, each nanny and each worker checked its event loop 50 times a second and
    # the machine's CPU, memory, disks and network twice a second, for a dashboard and for
    # warnings that no one sees here: a seventh of a core on 2 workers (idle: the event loop
    # of this process 55 to 70 ms of CPU a second, of each worker 40), taken from rendering.
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}
#: What a local cluster's workers need, imported once in the server they are forked from.
PRELOAD = ("distributed", "handoff_brief.batch", "handoff_brief.pdf")
#: Set, to the pid of the process that starts it, in the environment of that server: this
#: module, which it preloads, then imports `PRELOAD` there.
_FORKSERVER = "HANDOFF_BRIEF_FORKSERVER_OF"
_ADDRESS = re.compile(r"^tcp://(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")
_NO_DASK = ("needs Dask, which is not installed; install it with "
            "pip install 'handoff-brief[cluster]'")


class ClusterError(HandoffBriefError):
    """The cluster cannot be reached, has no workers, or lost a task."""


class ClusterExecutor(Executor):
    """`submit` runs a call on the cluster behind `client`; its `Future` is a plain
    `concurrent.futures.Future`, so anything written for a pool of processes works here.

    Its workers do not share this process's filesystem: `prepare_workers` sets them up,
    and the caller has them return what they make instead of writing it.
    """

    def __init__(self, client: Client, address: str) -> None:
        self.client = client
        self.address = address
        self._pending: set[Any] = set()  # the Dask futures in flight, for `shutdown`
        self._lock = threading.Lock()
        self._closed = False

    def prepare_workers(self, setup: Callable[..., None], *args: Any) -> int:
        """Run `setup(*args)` once on every worker, and on every worker that joins later
        (one replacing a lost one, say); raises what `setup` raised on a worker. Returns how
        many tasks the cluster runs at once (its worker threads)."""
        self.client.register_plugin(_setup_plugin(setup, args), name=PLUGIN_NAME)
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._closed:
            raise RuntimeError("the cluster executor is shut down")
        result: Future[Any] = Future()
        result.set_running_or_notify_cancel()
        task = self.client.submit(fn, *args, pure=False, retries=RETRIES, **kwargs)
        with self._lock:
            self._pending.add(task)
        task.add_done_callback(lambda done: self._settle(done, result))
        return result

    def _settle(self, task: Any, result: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(task)
        try:
            if task.status == "finished":
                result.set_result(task.result())
            elif task.status == "error":
                result.set_exception(task.exception())
            else:  # cancelled: the scheduler was lost, or the client closed
                result.set_exception(ClusterError(
                    f"the cluster at {self.address} dropped this task ({task.status}); "
                    "run again"))
        except BaseException as error:  # a result that cannot be read back, say
            if not result.done():
                result.set_exception(error)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        from distributed import wait as wait_for

        self._closed = True
        with self._lock:
            pending = list(self._pending)
        if cancel_futures and pending:
            self.client.cancel(pending)
        elif wait and pending:
            wait_for(pending)


def _dask() -> tuple[Any, Any]:
    """Dask and its distributed, imported on first use (a second)."""
    try:
        import dask
        import distributed
    except ImportError:
        raise BadSetting("cluster", _NO_DASK) from None
    return dask, distributed


def _setup_plugin(setup: Callable[..., None], args: tuple[Any, ...]) -> Any:
    """A worker plugin that calls `setup(*args)` on a worker when registered there, or when
    the worker starts. (Its class is made here, where Dask is imported; the workers are sent
    it whole.)"""
    from distributed import WorkerPlugin

    class Setup(WorkerPlugin):
        def __init__(self, call: tuple[Callable[..., None], tuple[Any, ...]]) -> None:
            self.call = call

        def setup(self, worker: Any) -> None:
            # The statistical profiler samples the running task's stack every 10 ms; a PDF's
            # layout is deep, and sampling it cost a third of the throughput (measured). A
            # local cluster's workers run without it (`LOCAL_CONFIG`), any other's from here.
            for name in ("profile", "profile-cycle"):
                callback = worker.periodic_callbacks.pop(name, None)
                if callback is not None:
                    callback.stop()
            call, call_args = self.call
            call(*call_args)

    return Setup((setup, args))


def prestart(address: str) -> None:
    """Start now what a cluster at `address` needs and takes long to start: for `local`, the
    server process that its workers will be forked from, which meanwhile imports `PRELOAD`
    (two seconds). Cheap, and harmless when called again: a batch may call it as soon as it
    knows its cluster, before its own imports; `cluster_executor` calls it anyway. The server
    lives as long as this process."""
    if address != LOCAL or importlib.util.find_spec("distributed") is None:
        return
    multiprocessing.get_context("forkserver").set_forkserver_preload([__name__])
    # The server ignores SIGINT from its start, and so does every worker forked from it: a
    # Ctrl-C at the terminal reaches only the batch, which stops them itself. (Only in the
    # main thread can it be ignored meanwhile: elsewhere, Dask's workers take it.)
    main = threading.current_thread() is threading.main_thread()
    on_interrupt = signal.getsignal(signal.SIGINT) if main else None
    os.environ[_FORKSERVER] = str(os.getpid())
    try:
        if on_interrupt is not None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        forkserver.ensure_running()
    finally:
        if on_interrupt is not None:
            signal.signal(signal.SIGINT, on_interrupt)
        del os.environ[_FORKSERVER]


def _preload() -> None:
    """In the server of `prestart`: `PRELOAD` imported, then kept out of the workers' garbage
    collections (which would walk it all at each full one). What fails to import is left for
    each worker to import, and to say why: the server itself must not fail, nor print
    (WeasyPrint without its system libraries does)."""
    del os.environ[_FORKSERVER]  # not the workers'
    for name in PRELOAD:
        with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
            importlib.import_module(name)
    gc.freeze()


if os.environ.get(_FORKSERVER) == str(os.getppid()):  # imported by the server of `prestart`
    _preload()


class _Deferred:
    """Holds back SIGINT and SIGTERM (each stops a batch) until `release`, then raises what
    came meanwhile, as if it came then. A handler it is, not a signal mask: a signal goes to
    any thread that does not block it (NumPy's, which Dask imports, start unmasked), and
    Python hands it to the main thread anyway. Only there do handlers run, and does a signal
    interrupt anything: elsewhere this does nothing."""

    def __init__(self) -> None:
        self.came: list[int] = []
        self.held: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(signum) is not None:  # a handler Python can put back
                    self.held[signum] = signal.signal(signum, self._hold)

    def _hold(self, signum: int, frame: Any) -> None:
        self.came.append(signum)

    def release(self) -> None:
        held, self.held = self.held, {}
        for signum, handler in held.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(self.came):
            signal.raise_signal(signum)


@contextmanager
def _local_cluster(jobs: int) -> Iterator[ClusterExecutor]:
    """A LocalCluster for one batch, quiet: what goes wrong on it is in the batch's report."""
    # A Ctrl-C while the cluster starts would leave it half started, and Dask's exit hook
    # printing a traceback: it waits until the cluster is up, then stops it cleanly.
    stops = _Deferred()
    try:
        prestart(LOCAL)  # first: its server imports Dask while this process does too
        dask, distributed = _dask()
    except BaseException:
        stops.release()
        raise
    # Its processes' settings hold while it runs: a nanny restarting a lost worker reads them
    # (and forks it from the same server).
    with dask.config.set(LOCAL_CONFIG):
        try:
            # The scheduler serves HTTP (health, metrics) even without a dashboard, on 8787
            # unless told otherwise: a free port on loopback, never another cluster's.
            cluster = distributed.LocalCluster(
                n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                dashboard_address="127.0.0.1:0", host="127.0.0.1",
                silence_logs=logging.CRITICAL)
        except BaseException:
            stops.release()
            raise
        with cluster:
            stops.release()
            with distributed.Client(cluster, set_as_default=False) as client:
                yield ClusterExecutor(client, cluster.scheduler_address)


@contextmanager
def cluster_executor(address: str, jobs: int) -> Iterator[ClusterExecutor]:
    """An executor on the cluster at `address`: `local` (a `LocalCluster` of `jobs`
    single-threaded worker processes, stopped on exit) or `tcp://HOST:PORT` (a running
    scheduler; `jobs` is not used). Raises `BadSetting` for an address of another form or
    without Dask installed, and `ClusterError` when the scheduler cannot be reached or has no
    workers."""
    if address != LOCAL and not _ADDRESS.match(address):
        raise BadSetting("cluster", f"{address}: is neither 'local' nor a scheduler address "
                                    "such as tcp://10.0.0.5:8786", value=address)
    if address == LOCAL:
        with _local_cluster(jobs) as executor:
            yield executor
        return
    _, distributed = _dask()
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except OSError as error:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT} s "
            f"({error}); check that `dask scheduler` runs there, that the host and port are "
            "right and that no firewall is in the way") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except TimeoutError:
            raise ClusterError(
                f"the Dask scheduler at {address} has had no worker for {WORKERS_TIMEOUT} s; "
                f"start one with `dask worker {address}` on a machine with handoff-brief "
                "installed") from None
        yield ClusterExecutor(client, address)
