"""Worker processes that cross-validate learners and can be killed at a deadline.

``joblib.Parallel(timeout=...)`` raises in the caller but leaves a runaway fit
running, and loky breaks its whole executor when one worker is killed. This
small pool owns its processes instead: each worker cross-validates one learner
at a time and reports every fold (:func:`automl_meta.learners.cv_runner.run_folds`);
the parent watches the clock of the fit in progress and, past the limit, kills
that worker alone (SIGKILL) and starts a fresh one. Other learners go on.
A budget for the whole run (``run(..., budget=S)``) stops every fit in
progress when it runs out, and the learners not yet started are not started.

Workers are fresh interpreters (``python -c``, talking over two pipes), never
forks: a process that has already used OpenMP or torch threads cannot be forked
safely, and unlike ``multiprocessing``'s spawn nothing of the caller's
``__main__`` is re-run, so scripts need no ``if __name__ == "__main__"`` guard
and pools can start inside daemonic processes (Dask workers). A learner spec
must therefore pickle by reference to an importable module (the worker gets
the caller's ``sys.path``). Workers run with ``OMP_NUM_THREADS=1`` and the BLAS
equivalents, so each learner uses one core. The pool is reused across calls to
``evaluate`` (:func:`shared_pool`), so the start-up cost (importing
scikit-learn, LightGBM, torch) is paid once per worker.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait

logger = logging.getLogger(__name__)

MAX_STARTUP_FAILURES = 3
OUT_OF_BUDGET = "for all learners ran out"  # how the reason of a learner stopped or never started by the budget ends
BUILD_GRACE_S = 60.0  # extra time, beyond the per-fit limit, to unpickle the data and build a pipeline
MAX_WAIT_S = 3600.0  # one wait for the workers at most (the system's is bounded): a later deadline, inf too, takes several
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
_LAUNCH = "import sys; from automl_meta.learners.worker_pool import worker_main; worker_main(int(sys.argv[1]), int(sys.argv[2]))"


def worker_main(read_fd: int, write_fd: int) -> None:
    """Loop of a worker process: receive a context or a job, stream the job's events back.

    A terminal's Ctrl-C reaches every process of the group: the worker ignores it,
    and the parent, which gets it too, stops the workers.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    context = None
    while True:
        try:
            message = inbox.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message[0] == "stop":
            return
        if message[0] == "path":
            sys.path[:] = [p for p in message[1] if p not in sys.path] + sys.path
            outbox.send(("ready", os.getpid()))
            continue
        if message[0] == "context":
            context = message[1]
            continue
        if message[0] == "call":
            _send_call_result(outbox, *pickle.loads(message[1]))
            continue
        _, index, spec = message
        from automl_meta.learners.cv_runner import run_folds

        try:
            for event in run_folds(spec, context, single_thread=True):
                outbox.send((index, event))
        except (BrokenPipeError, OSError):
            return  # the parent is gone


def _send_call_result(outbox: Connection, func, args: tuple) -> None:
    """Run ``func(*args)`` and send back, pickled, ``("result", value)``, ``("raised", exception)`` or ``("failed", text)``.

    Plain :mod:`pickle` bytes, not ``Connection.send``: torch registers reducers with
    multiprocessing's pickler that hand tensors over through shared memory, which a
    process not started by multiprocessing cannot authenticate (an mlp_torch fit).
    """
    try:
        reply = ("result", func(*args))
    except Exception as exc:
        reply = ("raised", exc)
    try:
        payload = pickle.dumps(reply)
    except Exception as exc:  # the value or the exception does not pickle
        payload = pickle.dumps(("failed", f"{type(exc).__name__}: {exc}"[:300]))
    try:
        outbox.send_bytes(payload)
    except (BrokenPipeError, OSError):
        return  # the parent is gone


def _pipe() -> tuple[int, int]:
    """``os.pipe()`` with both ends above the standard descriptors: where a caller closed stdin (``<&-``), descriptor
    0 was free, a pipe end took it, and the child's own stdin (/dev/null) then replaced that end (the worker saw EOF)."""
    import fcntl

    ends = []
    for fd in os.pipe():
        if fd <= 2:
            moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
            os.close(fd)
            fd = moved
        ends.append(fd)
    return ends[0], ends[1]


class _Worker:
    """One child process (a fresh interpreter, so nothing of the caller's ``__main__`` reruns), its pipes and its job."""

    def __init__(self) -> None:
        to_child_r, to_child_w = _pipe()
        from_child_r, from_child_w = _pipe()
        env = {**os.environ, **THREAD_ENV}
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        try:
            self.process = subprocess.Popen(
                # -P: no working directory first on the import path, where a lightgbm.py would replace the real one
                [sys.executable, "-P", "-c", _LAUNCH, str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w),
                env=env,
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.outbox = Connection(to_child_w, readable=False)
        self.conn = Connection(from_child_r, writable=False)
        self.outbox.send(("path", list(sys.path)))  # the caller's import path: planted learners unpickle there too
        self.ready = False
        self.context_token: str | None = None
        self.job: int | None = None
        self.outcomes: list = []
        self.fold = 0
        self.deadline: float | None = None

    @property
    def exitcode(self) -> int | None:
        return self.process.poll()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.conn.close()
        self.outbox.close()

    def stop(self) -> None:
        """Ask the worker to exit, and kill it if it has not within 2 s (at once if it is in a job: it would not read the request)."""
        if self.job is None:
            try:
                self.outbox.send(("stop",))
                self.process.wait(timeout=2)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass  # gone already, or stuck: killed below
        self.kill()


class WorkerPool:
    """Up to ``n_workers`` processes; :meth:`run` cross-validates learners on them."""

    def __init__(self, n_workers: int = 1) -> None:
        self.n_workers = max(1, int(n_workers))
        self._workers: list[_Worker] = []
        self._startup_failures = 0
        self.lock = threading.Lock()

    def close(self) -> None:
        """Stop every worker."""
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.remove(worker)

    def run(self, specs, context, timeout: float | None, budget: float | None = None):
        """Yield ``(index, outcomes, status, reason)`` for each learner of ``specs`` as it finishes.

        ``status`` is ``"ok"``, ``"failed"`` or ``"timeout"``; ``outcomes`` are the
        :class:`~automl_meta.learners.cv_runner.FoldOutcome` of the folds that finished.
        ``budget`` (seconds) bounds the whole run: when it runs out, the fits in
        progress are killed, and they and the learners not started are ``"timeout"``.
        """
        pending = deque(enumerate(specs))
        end = None if budget is None else time.monotonic() + budget
        try:
            while pending or any(w.job is not None for w in self._workers):
                if end is not None and time.monotonic() >= end:
                    yield from self._out_of_budget(pending, budget)
                    return
                # no more processes than learners waiting for one (a worker starts before it is ready)
                while pending and len(self._workers) < self.n_workers and sum(w.job is None for w in self._workers) < len(pending):
                    if self._startup_failures >= MAX_STARTUP_FAILURES:
                        while pending:
                            yield pending.popleft()[0], [], "failed", "worker processes die on start-up; run with --debug and jobs=1, no timeout"
                        break
                    self._workers.append(_Worker())
                for worker in self._workers:
                    if worker.ready and worker.job is None and pending:
                        yield from self._dispatch(worker, *pending.popleft(), context, timeout)
                yield from self._wait(timeout, end)
        finally:
            for worker in [w for w in self._workers if w.job is not None]:
                self._discard(worker)  # the caller stopped early: leave no fit running

    def _dispatch(self, worker: _Worker, index: int, spec, context, timeout):
        try:
            if worker.context_token != context.token:
                worker.outbox.send(("context", context))
                worker.context_token = context.token
            worker.outbox.send(("job", index, spec))
        except (OSError, EOFError):
            self._discard(worker)
            yield index, [], "failed", "the worker process died before the learner started"
            return
        except Exception as exc:  # pickling a planted or user-made spec can fail
            yield index, [], "failed", f"cannot send the learner to a worker process: {type(exc).__name__}: {exc}"[:300]
            return
        worker.job, worker.outcomes, worker.fold = index, [], 0
        worker.deadline = None if timeout is None else time.monotonic() + timeout + BUILD_GRACE_S

    def _out_of_budget(self, pending: deque, budget: float):
        reason = f"the time budget of {budget:g} s {OUT_OF_BUDGET}"
        for worker in [w for w in self._workers if w.job is not None]:
            index, outcomes = worker.job, worker.outcomes
            self._discard(worker)
            yield index, outcomes, "timeout", f"stopped: {reason}"
        while pending:
            yield pending.popleft()[0], [], "timeout", f"not started: {reason}"

    def _wait(self, timeout: float | None, end: float | None = None):
        deadlines = [w.deadline for w in self._workers if w.deadline is not None] + ([end] if end is not None else [])
        wait_s = None if not deadlines else min(MAX_WAIT_S, max(0.0, min(deadlines) - time.monotonic()))
        ready = set(wait([w.conn for w in self._workers], timeout=wait_s))
        for worker in list(self._workers):
            if worker.conn in ready:
                yield from self._receive(worker, timeout)  # a dead worker reads as end-of-file
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.job is not None and worker.deadline is not None and now >= worker.deadline:
                index, outcomes, fold = worker.job, worker.outcomes, worker.fold
                self._discard(worker)
                logger.info("learner %d killed after %.3g s on fold %d", index, timeout, fold + 1)
                yield index, outcomes, "timeout", f"fold {fold + 1} exceeded the time limit of {timeout:g} s per fit"

    def _receive(self, worker: _Worker, timeout: float | None):
        while worker in self._workers and worker.conn.poll():
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                yield from self._died(worker)
                return
            if message[0] == "ready":
                worker.ready = True
                continue
            index, event = message
            now = time.monotonic()
            kind = event[0]
            if kind == "start":
                worker.fold = event[1]
                worker.deadline = None if timeout is None else now + timeout
            elif kind == "fold":
                worker.outcomes.append(event[2])
                worker.deadline = None if timeout is None else now + timeout
            else:  # "done" or "failed"
                outcomes = worker.outcomes
                worker.job, worker.outcomes, worker.deadline = None, [], None
                if kind == "done":
                    yield index, outcomes, "ok", ""
                else:
                    yield index, outcomes, "failed", event[1]

    def _died(self, worker: _Worker):
        index, outcomes = worker.job, worker.outcomes
        worker.kill()
        code = worker.exitcode
        if not worker.ready:
            self._startup_failures += 1
        self._discard(worker)
        if index is not None:
            yield index, outcomes, "failed", f"the worker process died (exit code {code}); out of memory or a crash in native code"


class CallTimeout(Exception):
    """:func:`call_in_worker`'s call ran past its limit; its worker was killed."""


def call_in_worker(func, args: tuple, timeout: float):
    """``func(*args)`` in a fresh worker process (one thread, as a cross-validation fit), killed past ``timeout`` s.

    The clock starts when the call is sent, once the interpreter is up; it covers
    sending ``args``, the call and sending the result back. Returns the result,
    re-raises the call's exception, raises :class:`CallTimeout` past the limit and
    ``RuntimeError`` if the worker dies. ``func`` must be importable by reference.
    """
    worker = _Worker()
    try:
        if not worker.conn.poll(MAX_WAIT_S) or worker.conn.recv()[0] != "ready":
            raise RuntimeError("the worker process did not start")
        worker.outbox.send(("call", pickle.dumps((func, args))))
        worker.job = -1  # busy: stop() kills it at once
        end = time.monotonic() + timeout
        while not worker.conn.poll(min(MAX_WAIT_S, max(0.0, end - time.monotonic()))):
            if time.monotonic() >= end:
                raise CallTimeout(f"not finished within {timeout:g} s")
        kind, value = pickle.loads(worker.conn.recv_bytes())
        worker.job = None
    except (EOFError, OSError):
        worker.kill()
        raise RuntimeError(f"the worker process died (exit code {worker.exitcode}); out of memory or a crash in native code") from None
    finally:
        worker.stop()
    if kind == "raised":
        raise value
    if kind == "failed":
        raise RuntimeError(f"cannot send the result back from the worker process: {value}")
    return value


_SHARED: WorkerPool | None = None
_SHARED_LOCK = threading.Lock()


@contextmanager
def shared_pool(n_workers: int):
    """A pool of ``n_workers`` kept alive between calls; a private one if another thread holds it."""
    global _SHARED
    with _SHARED_LOCK:
        pool = _SHARED
        if pool is not None and not pool.lock.acquire(blocking=False):
            pool = None  # busy in another thread
        elif pool is None or pool.n_workers != n_workers:
            if pool is not None:
                pool.close()
                pool.lock.release()
            pool = _SHARED = WorkerPool(n_workers)
            pool.lock.acquire()
    if pool is not None:
        try:
            yield pool
        finally:
            pool.lock.release()
        return
    private = WorkerPool(n_workers)
    try:
        yield private
    finally:
        private.close()


def _close_shared() -> None:
    """At exit, stop the shared pool's workers; an interrupt meanwhile kills the rest instead of printing a traceback."""
    if _SHARED is None:
        return
    try:
        _SHARED.close()
    except KeyboardInterrupt:
        for worker in _SHARED._workers:
            worker.kill()


atexit.register(_close_shared)
