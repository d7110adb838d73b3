"""Extract a dataset's meta-features in a forked child while the parent does other work.

``recommend`` spends about as long reading the data, importing LightGBM and
loading the meta-model as it does importing pymfe and extracting meta-features;
the two are independent, so on a machine with two cores they can overlap. The
child is forked before pandas, scikit-learn or pymfe are imported (this module
imports none of them), runs a *job* that returns its
:class:`~automl_meta.metafeatures.MetaFeatures` (through the cache, so the
cache is filled as usual), sends the vector back through a pipe and exits
without running any exit handler of the parent. With ``receives=True`` the
child first runs ``prepare`` (its imports) while the parent reads the data,
and the job gets what the parent hands over with :meth:`~BackgroundMetaFeatures.send`
(pickled through a second pipe, written by a thread so the parent goes on at
once): the data are read once, by the parent, and off the child's critical
path. The child prints nothing: its log records of WARNING and above travel
back with the vector and the parent emits them (a cache folder it could not
write, say). Where there is no ``fork`` (Windows, macOS) or when the child fails,
:attr:`BackgroundMetaFeatures.result` is None and the caller extracts
in-process, which reports any error itself.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable

logger = logging.getLogger(__name__)


def _receive(read_fd: int):
    """The object the parent sent (:meth:`BackgroundMetaFeatures.send`); EOFError if it sent none."""
    import pickle

    with os.fdopen(read_fd, "rb") as pipe:
        payload = pipe.read()
    if not payload:
        raise EOFError("the parent sent nothing")
    return pickle.loads(payload)  # from our own parent process, through a private pipe


class _Collected(logging.Handler):
    """Keeps the child's log records of WARNING and above, for the parent to emit."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def _child(job: Callable, write_fd: int, prepare: Callable | None, input_fd: int | None) -> None:
    """Runs in the forked child; never returns."""
    code = 1
    try:
        collected = _Collected()
        root = logging.getLogger()
        for handler in list(root.handlers):  # the child prints nothing: the parent emits what it reports
            root.removeHandler(handler)
        root.addHandler(collected)
        warnings.simplefilter("ignore")  # Python warnings (pymfe's, NumPy's) stay quiet, as in-process
        from threadpoolctl import threadpool_limits

        start = time.perf_counter()
        if prepare is not None:
            prepare()
        args = () if input_fd is None else (_receive(input_fd),)
        with threadpool_limits(limits=1, user_api="blas"):  # pymfe's many small SVDs: one thread is faster
            result = job(*args)
        document = {"metafeatures": result.to_dict(), "cached": result.cached,
                    "seconds": time.perf_counter() - start, "log": collected.records}
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(json.dumps(document).encode())
        code = 0
    except BaseException:  # noqa: BLE001 - anything: exit non-zero, the parent recomputes
        code = 1
    finally:
        os._exit(code)


def _write_all(fd: int, payload: bytes) -> None:
    """Write ``payload`` to ``fd`` and close it; a child that died meanwhile is not an error here."""
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(payload)
    except (BrokenPipeError, OSError):
        pass


class BackgroundMetaFeatures:
    """Context manager: ``job`` (returning MetaFeatures) runs in a child process during the ``with`` block.

    After a block that ended normally, :attr:`result` is the job's
    :class:`~automl_meta.metafeatures.MetaFeatures` (``seconds`` = the child's
    time, from the fork) or None if the child could not deliver. If the block
    raises, the child is killed and reaped. ``enabled=False`` runs nothing (the
    caller extracts in-process).

    ``job()`` takes no argument unless ``receives=True``: then the child runs
    ``prepare()`` first and ``job(obj)`` gets the object the parent passes to
    :meth:`send` inside the block (a block that sends nothing leaves no result).
    """

    def __init__(self, job: Callable, enabled: bool = True, prepare: Callable | None = None, receives: bool = False):
        self.job = job
        self.enabled = enabled
        self.prepare = prepare
        self.receives = receives
        self.result = None
        self._pid = None
        self._read_fd = None
        self._input_fd = None  # the parent's end of the pipe to the child, until send() hands it to the writer
        self._writer = None

    @property
    def running(self) -> bool:
        """Whether a child was started and is neither cancelled nor reaped."""
        return self._pid is not None and self._read_fd is not None

    @staticmethod
    def available() -> bool:
        return hasattr(os, "fork") and sys.platform.startswith("linux")

    def __enter__(self) -> BackgroundMetaFeatures:
        if not (self.enabled and self.available()):
            return self
        read_fd, write_fd = os.pipe()
        input_read, input_write = os.pipe() if self.receives else (None, None)
        for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
            if stream is not None:  # None where the descriptor was closed before Python started
                stream.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in (read_fd, write_fd, input_read, input_write):
                if fd is not None:
                    os.close(fd)
            logger.debug("cannot fork for the meta-features (%s); extracting in-process", exc)
            return self
        if pid == 0:
            os.close(read_fd)
            if input_write is not None:
                os.close(input_write)
            _child(self.job, write_fd, self.prepare, input_read)
        os.close(write_fd)
        if input_read is not None:
            os.close(input_read)
        self._pid, self._read_fd, self._input_fd = pid, read_fd, input_write
        return self

    def send(self, obj) -> None:
        """Hand ``obj`` to the child's job (``receives=True``); returns at once, a thread writes it."""
        if self._input_fd is None:
            return
        import pickle
        import threading

        try:
            payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - whatever cannot be pickled: the caller extracts in-process
            logger.debug("cannot hand the data to the meta-feature child (%r); extracting in-process", exc)
            self._close_input()
            return
        fd, self._input_fd = self._input_fd, None
        self._writer = threading.Thread(target=_write_all, args=(fd, payload), daemon=True)
        self._writer.start()

    def cancel(self) -> None:
        """Stop the child now (say, the meta-features were found in the cache); :attr:`result` stays None."""
        if not self.running:  # no child, or already reaped
            return
        self._close_input()
        os.kill(self._pid, signal.SIGKILL)
        os.close(self._read_fd)
        self._read_fd = None
        os.waitpid(self._pid, 0)
        if self._writer is not None:
            self._writer.join()  # the child is gone, so its write fails at once

    def _close_input(self) -> None:
        if self._input_fd is not None:  # never sent: the child reads end-of-file and gives up
            os.close(self._input_fd)
            self._input_fd = None

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.running:  # no child, or cancelled
            return
        if exc_type is not None:
            self.cancel()
            return
        self._close_input()
        with os.fdopen(self._read_fd, "rb") as pipe:
            payload = pipe.read()
        self._read_fd = None
        _, status = os.waitpid(self._pid, 0)
        if self._writer is not None:
            self._writer.join()
        if os.waitstatus_to_exitcode(status) != 0 or not payload:
            logger.debug("the meta-feature child failed; extracting in-process")
            return
        from automl_meta.metafeatures import MetaFeatures

        document = json.loads(payload)
        for name, level, message in document.get("log", []):  # say, a cache folder it could not write
            logging.getLogger(name).log(level, message)
        self.result = dataclasses.replace(
            MetaFeatures.from_dict(document["metafeatures"], cached=bool(document["cached"])),
            seconds=float(document["seconds"]),
        )
