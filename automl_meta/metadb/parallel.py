"""Where build work runs: inline, a local process pool, or a Dask distributed cluster.

Every executor has one verb, :meth:`map_unordered`, that runs ``fn(*args)`` for
each ``(key, args)`` and yields ``(key, result)`` as each one finishes. Results
come back to the calling (coordinating) process, which is the only one that
writes to SQLite. The process pool is joblib's ``loky`` backend; on Dask each
unit is a task of a ``distributed.Client`` (``--dask local`` starts a
``LocalCluster`` of single-threaded worker processes, ``--scheduler
tcp://HOST:PORT`` joins a running cluster).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from automl_meta.exceptions import AutomlMetaError, UsageError

logger = logging.getLogger(__name__)

Unit = tuple[Any, tuple]
NO_WORKER_S = 60.0  # a Dask cluster without a worker this long stops the build


class NoWorkerError(AutomlMetaError):
    """The Dask cluster has no worker left to run the build's units (exit 1)."""


def _tagged(key, fn: Callable, args: tuple):
    return key, fn(*args)


class SerialExecutor:
    """Runs every unit in this process, in order (``--jobs 1``)."""

    name = "serial"
    n_workers = 1

    def map_unordered(self, fn: Callable, units: Iterable[Unit]) -> Iterator[tuple[Any, Any]]:
        for key, args in units:
            yield _tagged(key, fn, args)

    def close(self) -> None:
        pass


class JoblibExecutor:
    """A joblib ``Parallel`` pool of ``loky`` processes, or the tasks of a Dask cluster when a client is given."""

    def __init__(self, n_jobs: int = 2, client=None, cluster=None):
        self.n_jobs = n_jobs
        self.client = client
        self.cluster = cluster
        self.name = "dask" if client is not None else "loky"
        self.n_workers = n_jobs if client is None else max(1, sum(client.nthreads().values()))  # the cluster's threads

    def map_unordered(self, fn: Callable, units: Iterable[Unit]) -> Iterator[tuple[Any, Any]]:
        units = list(units)
        if self.client is not None:
            yield from self._on_cluster(fn, units)
        else:
            from joblib import Parallel, delayed, parallel_config

            tasks = (delayed(_tagged)(key, fn, args) for key, args in units)
            env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
            # no more processes than units, but two at least: with one, joblib runs the unit here, and its crash is ours
            n_jobs = min(self.n_jobs, max(2, len(units)))
            with parallel_config(backend="loky", n_jobs=n_jobs, inner_max_num_threads=1), _environ(env), warnings.catch_warnings():
                # loky restarts a worker that memory grew in ("A worker stopped while some jobs were given to the
                # executor"): its own housekeeping, which the build's output has no use for
                warnings.filterwarnings("ignore", message="A worker stopped while some jobs", category=UserWarning)
                yield from Parallel(return_as="generator_unordered", pre_dispatch="2*n_jobs", batch_size=1)(tasks)

    def _on_cluster(self, fn: Callable, units: list[Unit]) -> Iterator[tuple[Any, Any]]:
        """Each unit a task of the Dask cluster, at most ``2 * n_workers`` ahead, results as they finish.

        The client's own futures, not joblib's Dask backend: that one ran every unit in
        this process when the cluster had one worker thread, and inside a task it made
        the learners' and pymfe's own joblib calls tasks of the cluster too, which
        deadlocked single-threaded workers. A worker that dies has its task retried on
        another; one that kills worker after worker comes back as ``KilledWorker``. The
        window follows the workers that join or leave a running scheduler. A cluster left
        with no worker for :data:`NO_WORKER_S` seconds stops the build (what finished
        is stored; the rest is not recorded as failed).
        """
        from distributed import wait

        queue = iter(units)
        running: dict = {}

        def top_up(window: int) -> None:
            while len(running) < window:
                unit = next(queue, None)
                if unit is None:
                    return
                running[self.client.submit(_tagged, unit[0], fn, unit[1], pure=False)] = unit[0]

        window = 2 * max(1, self.n_workers)
        top_up(window)
        idle_since = None
        try:
            while running:
                try:
                    done = wait(list(running), timeout=1.0, return_when="FIRST_COMPLETED").done
                except TimeoutError:  # none finished within the second
                    done = set()
                threads = self.client.nthreads()  # workers join and leave a running scheduler
                window = 2 * max(1, sum(threads.values()))
                if not done:
                    top_up(window)
                    if threads:
                        idle_since = None
                    elif idle_since is None:
                        idle_since = time.monotonic()
                    elif time.monotonic() - idle_since > NO_WORKER_S:
                        raise NoWorkerError(f"the Dask cluster has had no worker for {NO_WORKER_S:.0f} s; what finished is "
                                            "stored: start workers and run the same command again")
                    continue
                for future in done:
                    running.pop(future)
                    result = future.result()  # a unit's own error is raised here, as from a local pool
                    top_up(window)
                    yield result
        finally:
            if running:
                self.client.cancel(list(running))

    def close(self) -> None:
        if self.client is not None:
            _DASK_LOG_GATE.threshold = logging.CRITICAL + 1
            _quiet_loggers("distributed", "tornado", "asyncio")  # a close mid-way (Ctrl-C) logs what it cut off: not news
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


@dataclass(frozen=True)
class WorkerLost:
    """The result of a unit whose worker process died under it (see :func:`map_surviving_crashes`)."""

    reason: str


def _worker_lost_errors() -> tuple[type[BaseException], ...]:
    """What the executors raise when a worker process died (not an error the unit raised)."""
    from concurrent.futures.process import BrokenProcessPool  # loky's TerminatedWorkerError is one

    errors: list[type[BaseException]] = [BrokenProcessPool]
    try:
        from distributed.scheduler import KilledWorker

        errors.append(KilledWorker)
    except ImportError:  # pragma: no cover - dask.distributed is a dependency
        pass
    return tuple(errors)


def map_surviving_crashes(executor, fn: Callable, units: Iterable[Unit]) -> Iterator[tuple[Any, Any]]:
    """:meth:`map_unordered`, except that a unit whose worker process dies yields ``(key, WorkerLost)``.

    A worker killed by the OS (out of memory) or by a crash in native code takes
    the whole joblib call down, not just its unit. Units are dispatched in order
    and at most ``2 * n_workers`` ahead, so the culprit is among the first
    ``2 * n_workers`` units still waiting: those run again one at a time (the one
    that kills its worker again is the culprit, reported as :class:`WorkerLost`),
    then the rest go on in parallel. The serial executor runs in this process:
    there a crash is the process's own.
    """
    pending = list(units)
    window = 2 * max(1, int(getattr(executor, "n_workers", 1)))
    lost = _worker_lost_errors()
    while pending:
        finished = set()
        try:
            for key, result in executor.map_unordered(fn, pending):
                finished.add(key)
                yield key, result
            return
        except lost as exc:
            logger.warning("a worker process died (%s); rerunning the units it may have held one at a time",
                           type(exc).__name__)
            pending = [unit for unit in pending if unit[0] not in finished]
            suspects, pending = pending[:window], pending[window:]
            for key, args in suspects:
                try:
                    yield from executor.map_unordered(fn, [(key, args)])
                except lost as again:
                    yield key, WorkerLost(
                        f"its worker process died ({type(again).__name__}): killed by the OS (out of memory?) "
                        "or a crash in native code"
                    )


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for worker processes started inside the block, unless the user set them."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def make_executor(jobs: int = 1, dask: str | None = None, scheduler: str | None = None):
    """The executor for ``--jobs``/``--dask local``/``--scheduler``.

    Parameters
    ----------
    jobs : worker processes (for ``--dask local``: the LocalCluster's workers).
    dask : ``"local"`` to start a LocalCluster, or None.
    scheduler : address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    """
    if dask is not None and scheduler is not None:
        raise UsageError("give --dask local or --scheduler ADDRESS, not both")
    if dask is not None and dask != "local":
        raise UsageError(f"--dask takes 'local' (for a remote cluster use --scheduler tcp://HOST:PORT), not {dask!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"--jobs must be a positive integer, not {jobs!r}")
    if dask is None and scheduler is None:
        return SerialExecutor() if jobs == 1 else JoblibExecutor(n_jobs=jobs)
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise UsageError(f"--scheduler must be an address like tcp://HOST:8786, not {scheduler!r}")
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); is `dask scheduler` running?") from None
        _gate_dask_logs()
        return JoblibExecutor(client=client)
    import dask

    # evaluate() may start a process per learner to enforce --timeout; daemonic workers cannot have children
    dask.config.set({"distributed.worker.daemon": False})
    # the worker processes inherit the ignored SIGINT: Ctrl-C stops the build here, which closes the cluster; their
    # logs stay quiet (a unit's error comes back in its record, a lost worker as KilledWorker, both reported)
    with _sigint_ignored():
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.CRITICAL, env={"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"})
    client = Client(cluster)
    _gate_dask_logs()
    return JoblibExecutor(client=client, cluster=cluster)


class _LogGate(logging.Filter):
    """Drops records below ``threshold``; put on Dask's own stream handlers.

    A filter, not a level: distributed sets and restores its handlers' levels itself
    (a LocalCluster's ``silence_logs`` is undone when it closes), and under load a
    Ctrl-C's "Batched Comm Closed" INFO record, with its traceback, got through a
    logger level set for it.
    """

    def __init__(self):
        super().__init__()
        self.threshold = logging.WARNING

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.threshold


_DASK_LOG_GATE = _LogGate()


def _gate_dask_logs() -> None:
    """Let only warnings and errors through Dask's stream handlers in this process (none once an executor closes)."""
    _DASK_LOG_GATE.threshold = logging.WARNING
    _quiet_loggers("distributed", level=logging.WARNING)
    for name in [n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("distributed", "tornado", "asyncio")]:
        for handler in getattr(logging.getLogger(name), "handlers", ()):
            if _DASK_LOG_GATE not in handler.filters:
                handler.addFilter(_DASK_LOG_GATE)


def _quiet_loggers(*prefixes: str, level: int = logging.CRITICAL + 1) -> None:
    """No records below ``level`` from these loggers and their children (some set their own level) from now on.

    By default none at all, above CRITICAL: a scheduler still running when the client's
    connection closes logs a CRITICAL "Closed comm ... while trying to write" with its traceback.
    """
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in prefixes]
    for name in (*prefixes, *names):
        logging.getLogger(name).setLevel(level)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while worker processes start, so that they ignore it too.

    A terminal's Ctrl-C goes to the whole process group: each Dask worker then
    printed its own KeyboardInterrupt traceback while the build was stopping.
    """
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
