"""A pool of set-up worker processes for the service: deadlines, replacement, backpressure.

Each worker process is prepared once (fonts, stylesheets, templates) and then runs one
call at a time. Unlike `ProcessPoolExecutor`, one call that overruns its deadline or one
worker that dies costs only that call: the worker is killed and replaced, the others go on.

Two kinds of work share the workers: requests someone is waiting for (`submit_now`,
refused with `Busy` when too many already wait, and served first) and background work
(`submit`, the `concurrent.futures.Executor` method, never refused; the async jobs).
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ..errors import HandoffBriefError
from ..lifetime import die_with_parent

#: Modules the fork server imports once, so that every worker starts with them loaded.
PRELOAD = ["handoff_brief.service.work", "handoff_brief.pdf"]

NOW, LATER = 0, 1
#: Seconds a new worker may take to import and warm up before it counts as failed.
SETUP_TIMEOUT = 120  # priorities: someone is waiting; background work


class Busy(HandoffBriefError):
    """Too many requests already wait for a worker; `retry_after` is a fair guess (s)."""

    def __init__(self, waiting: int, retry_after: int) -> None:
        self.waiting, self.retry_after = waiting, retry_after
        super().__init__(f"{waiting} renders are already waiting; try again in "
                         f"{retry_after} s")


class Overran(HandoffBriefError):
    """A call took longer than its deadline; its worker was replaced."""


class WorkerDied(HandoffBriefError):
    """The worker process running a call died (killed by the system?); it was replaced."""


@dataclass(order=True)
class _Task:
    priority: int
    order: int
    future: Future[Any] = field(compare=False)
    call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None = field(compare=False)
    deadline: float | None = field(compare=False, default=None)


class WorkerPool(Executor):
    """`workers` processes, each prepared by `setup(*setup_args)` once when it starts.

    `deadline` (seconds) bounds every call unless a call gives its own; `max_waiting`
    bounds how many `submit_now` calls may wait for a worker.
    """

    def __init__(self, workers: int, setup: Callable[..., None], setup_args: tuple[Any, ...] = (),
                 *, deadline: float | None = None, max_waiting: int = 64) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self.workers = workers
        self.deadline = deadline
        self.max_waiting = max_waiting
        self._setup = (setup, setup_args)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._queue: queue.PriorityQueue[_Task] = queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._waiting_now = 0
        self._running = 0
        self._closed = False
        self.replaced = 0  # workers killed and started again, for the metrics
        self._slots = [_Slot(self, number) for number in range(workers)]
        for slot in self._slots:
            slot.start()
        for slot in self._slots:
            slot.ready.wait()
        failed = next((slot.failure for slot in self._slots if slot.failure), None)
        if failed is not None:
            self.shutdown(wait=False)
            raise failed

    # -- Executor ---------------------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Background work: queued behind whatever someone is waiting for, never refused."""
        return self._put(LATER, fn, args, kwargs, None)

    def submit_now(self, fn: Callable[..., Any], *args: Any,
                   deadline: float | None = None) -> Future[Any]:
        """Work someone waits for: first in line; `Busy` when `max_waiting` already wait."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is shut down")
            if self._waiting_now >= self.max_waiting:
                raise Busy(self._waiting_now, self._retry_after())
            self._waiting_now += 1
        return self._put(NOW, fn, args, {}, deadline)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
        if cancel_futures:
            while True:
                try:
                    task = self._queue.get_nowait()
                except queue.Empty:
                    break
                task.future.cancel()
        for _ in self._slots:  # one stop sign per slot, behind the work already queued
            self._queue.put(_Task(2, next(self._order), Future(), None))
        if wait:
            for slot in self._slots:
                slot.join()
        else:
            for slot in self._slots:
                slot.kill_worker()

    # -- state ------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Calls queued and not yet started (both kinds)."""
        return self._queue.qsize()

    @property
    def running(self) -> int:
        return self._running

    def _retry_after(self) -> int:
        return max(1, round(self._waiting_now / self.workers))

    def _put(self, priority: int, fn: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any], deadline: float | None) -> Future[Any]:
        if self._closed:
            raise RuntimeError("the pool is shut down")
        future: Future[Any] = Future()
        self._queue.put(_Task(priority, next(self._order), future, (fn, args, kwargs),
                              deadline if deadline is not None else self.deadline))
        return future

    def _started(self, task: _Task) -> None:
        with self._lock:
            if task.priority == NOW:
                self._waiting_now -= 1
            self._running += 1

    def _finished(self) -> None:
        with self._lock:
            self._running -= 1


class _Slot(threading.Thread):
    """One worker process and the thread that feeds it, one call at a time."""

    def __init__(self, pool: WorkerPool, number: int) -> None:
        super().__init__(name=f"handoff-brief-worker-{number}", daemon=True)
        self.pool = pool
        self.ready = threading.Event()
        self.process: BaseProcess | None = None
        self.connection: Connection | None = None
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self.start_worker()
        except BaseException as error:  # the pool raises it to whoever started it
            self.failure = error
            return
        finally:
            self.ready.set()
        while True:
            task = self.pool._queue.get()
            if task.call is None:
                self.kill_worker()
                return
            if not task.future.set_running_or_notify_cancel():
                if task.priority == NOW:
                    self.pool._started(task)
                    self.pool._finished()
                continue
            self.pool._started(task)
            try:
                self.call(task)
            except Exception as error:  # a fault of ours: this call fails, the slot goes on
                if not task.future.done():
                    task.future.set_exception(error)
                self.replace()
            finally:
                self.pool._finished()

    def call(self, task: _Task) -> None:
        assert task.call is not None
        if self.process is None or not self.process.is_alive():
            self.kill_worker()
            try:
                self.start_worker()
            except Exception as error:
                task.future.set_exception(WorkerDied(f"no worker could be started ({error})"))
                return
        connection = self.connection  # `shutdown(wait=False)` may reset it from another thread
        assert connection is not None
        try:
            message = ForkingPickler.dumps(task.call)
        except Exception as error:  # nothing was sent: the worker is still ready
            task.future.set_exception(TypeError(
                f"the call cannot be sent to a worker process ({type(error).__name__}: "
                f"{error})"))
            return
        try:
            connection.send_bytes(message)
            if not connection.poll(task.deadline):
                self.replace()
                task.future.set_exception(Overran(
                    f"took longer than its {task.deadline:g} s deadline; stopped"))
                return
            answer = connection.recv_bytes()
        except (EOFError, OSError):
            self.replace()
            task.future.set_exception(WorkerDied(
                "the worker process died (killed by the system?) before it finished"))
            return
        try:
            outcome, value = ForkingPickler.loads(answer)
        except Exception as error:  # read whole: the worker is still ready
            task.future.set_exception(RuntimeError(
                f"the worker's answer cannot be read ({type(error).__name__}: {error})"))
            return
        if outcome == "ok":
            task.future.set_result(value)
        else:
            task.future.set_exception(value)

    def start_worker(self) -> None:
        ours, theirs = self.pool._context.Pipe()
        setup, args = self.pool._setup
        process = self.pool._context.Process(target=_serve, args=(theirs, setup, args),
                                             name=self.name, daemon=True)
        process.start()
        theirs.close()
        self.process, self.connection = process, ours
        # Ready once set up (fonts, stylesheets, templates), not merely started.
        try:
            if not ours.poll(SETUP_TIMEOUT):
                self.kill_worker()
                raise WorkerDied(f"a worker took more than {SETUP_TIMEOUT} s to set up")
            outcome, value = ours.recv()
        except (EOFError, OSError):
            self.kill_worker()
            raise WorkerDied("a worker process died while it was setting up") from None
        if outcome != "ready":
            self.kill_worker()
            raise value

    def kill_worker(self) -> None:
        # Called by this slot's thread and by `shutdown(wait=False)`: each takes its own copy.
        process, connection = self.process, self.connection
        self.process = self.connection = None
        if process is not None:
            process.kill()
            process.join()
        if connection is not None:
            connection.close()

    def replace(self) -> None:
        """A fresh worker in place of this one, ready for the next call (if it cannot be
        started now, the next call tries again and says why it could not); none once the
        pool is shut down."""
        self.kill_worker()
        with self.pool._lock:
            self.pool.replaced += 1
            if self.pool._closed:
                return
        with contextlib.suppress(Exception):
            self.start_worker()


def _serve(connection: Connection, setup: Callable[..., None], args: tuple[Any, ...]) -> None:
    """A worker process: set up once, then one call at a time until the pipe closes."""
    die_with_parent()
    try:
        setup(*args)
    except Exception as error:
        connection.send(("error", _portable(error)))
        return
    connection.send(("ready", None))
    while True:
        try:
            fn, call_args, kwargs = connection.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", fn(*call_args, **kwargs))
        except Exception as error:  # sent back whole; the caller's future raises it
            reply = ("error", _portable(error))
        try:
            connection.send(reply)
        except Exception as error:  # an unpicklable result or error: its description
            connection.send(("error", RuntimeError(f"{type(error).__name__}: {error}")))


def _portable(error: Exception) -> Exception:
    """`error` if it survives the trip back (an exception whose `__init__` takes other
    arguments than its `args` does not), else one that says the same."""
    try:
        pickle.loads(ForkingPickler.dumps(error))
    except Exception:
        if isinstance(error, HandoffBriefError):
            return HandoffBriefError(error.message)
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
