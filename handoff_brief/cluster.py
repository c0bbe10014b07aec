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
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

from .errors import BadSetting, HandoffBriefError

try:
    import dask
    from distributed import Client, LocalCluster, WorkerPlugin
    from distributed import wait as wait_for
except ImportError:  # imported only when a cluster is asked for
    raise BadSetting("cluster", "needs Dask, which is not installed; install it with "
                                "pip install 'handoff-brief[cluster]'") from None

LOCAL = "local"
#: Seconds to reach a scheduler before saying it cannot be reached.
CONNECT_TIMEOUT = 5
#: Seconds a scheduler without workers is given for one to join.
WORKERS_TIMEOUT = 30
#: Tries again of a task that raised (a lost worker is the scheduler's business).
RETRIES = 2
PLUGIN_NAME = "handoff-brief-setup"
_ADDRESS = re.compile(r"^tcp://(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")


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
        self.client.register_plugin(_Setup(setup, args), name=PLUGIN_NAME)
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
        self._closed = True
        with self._lock:
            pending = list(self._pending)
        if cancel_futures and pending:
            self.client.cancel(pending)
        elif wait and pending:
            wait_for(pending)


class _Setup(WorkerPlugin):
    """Calls `setup(*args)` on a worker when registered there, or when the worker starts."""

    def __init__(self, setup: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.call = (setup, args)

    def setup(self, worker: Any) -> None:
        # The worker's statistical profiler walks the running task's stack every 10 ms; a
        # PDF's layout is deep, and sampling it cost a third of the throughput (measured).
        for name in ("profile", "profile-cycle"):
            callback = worker.periodic_callbacks.pop(name, None)
            if callback is not None:
                callback.stop()
        setup, args = self.call
        setup(*args)


@contextmanager
def _local_cluster(jobs: int) -> Iterator[ClusterExecutor]:
    """A LocalCluster for one batch, quiet: what goes wrong on it is in the batch's report."""
    # A Ctrl-C while the cluster starts would leave it half started, and Dask's exit hook
    # printing a traceback: it waits until the cluster is up, then stops it cleanly. The
    # worker processes keep the mask: a Ctrl-C at the terminal reaches only the batch,
    # which stops them itself.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        # One task at a time per worker, none queued on it: a worker that dies takes only
        # the brief it was rendering with it, which alone counts towards allowed-failures.
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            # The scheduler serves HTTP (health, metrics) even without a dashboard, on 8787
            # unless told otherwise: a free port on loopback, never another cluster's.
            cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1,
                                   processes=True, dashboard_address="127.0.0.1:0",
                                   host="127.0.0.1", silence_logs=logging.CRITICAL)
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    with cluster:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        with Client(cluster, set_as_default=False) as client:
            yield ClusterExecutor(client, cluster.scheduler_address)


@contextmanager
def cluster_executor(address: str, jobs: int) -> Iterator[ClusterExecutor]:
    """An executor on the cluster at `address`: `local` (a `LocalCluster` of `jobs`
    single-threaded worker processes, stopped on exit) or `tcp://HOST:PORT` (a running
    scheduler; `jobs` is not used). Raises `BadSetting` for an address of another form and
    `ClusterError` when the scheduler cannot be reached or has no workers."""
    if address != LOCAL and not _ADDRESS.match(address):
        raise BadSetting("cluster", f"{address}: is neither 'local' nor a scheduler address "
                                    "such as tcp://10.0.0.5:8786", value=address)
    if address == LOCAL:
        with _local_cluster(jobs) as executor:
            yield executor
        return
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
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
