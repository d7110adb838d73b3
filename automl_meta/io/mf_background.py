"""Extract a dataset's meta-features in a forked child while the parent does other work.

``recommend`` spends about as long reading the data, importing LightGBM and
loading the meta-model as it does importing pymfe and extracting meta-features;
the two are independent, so on a machine with two cores they can overlap. The
child is forked before pandas, scikit-learn or pymfe are imported (this module
imports none of them), runs a *job* that reads the data and returns its
:class:`~automl_meta.metafeatures.MetaFeatures` (through the cache, so the
cache is filled as usual), sends the vector back through a pipe and exits
without running any exit handler of the parent. Where there is no ``fork``
(Windows, macOS) or when the child fails, :attr:`BackgroundMetaFeatures.result`
is None and the caller extracts in-process, which reports any error itself.
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


def _child(job: Callable, write_fd: int) -> None:
    """Runs in the forked child; never returns."""
    code = 1
    try:
        logging.disable(logging.CRITICAL)  # the parent reads the same data and reports what there is to say
        warnings.simplefilter("ignore")  # once, from the parent, is enough
        from threadpoolctl import threadpool_limits

        start = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas"):  # pymfe's many small SVDs: one thread is faster
            result = job()
        document = {"metafeatures": result.to_dict(), "cached": result.cached,
                    "seconds": time.perf_counter() - start}
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(json.dumps(document).encode())
        code = 0
    except BaseException:  # noqa: BLE001 - anything: exit non-zero, the parent recomputes
        code = 1
    finally:
        os._exit(code)


class BackgroundMetaFeatures:
    """Context manager: ``job()`` (returning MetaFeatures) runs in a child process during the ``with`` block.

    After a block that ended normally, :attr:`result` is the job's
    :class:`~automl_meta.metafeatures.MetaFeatures` (``seconds`` = the child's
    time, reading the data included) or None if the child could not deliver.
    If the block raises, the child is killed and reaped. ``enabled=False`` runs nothing
    (the caller extracts in-process).
    """

    def __init__(self, job: Callable, enabled: bool = True):
        self.job = job
        self.enabled = enabled
        self.result = None
        self._pid = None
        self._read_fd = None

    @staticmethod
    def available() -> bool:
        return hasattr(os, "fork") and sys.platform.startswith("linux")

    def __enter__(self) -> BackgroundMetaFeatures:
        if not (self.enabled and self.available()):
            return self
        read_fd, write_fd = os.pipe()
        for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
            stream.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(read_fd)
            os.close(write_fd)
            logger.debug("cannot fork for the meta-features (%s); extracting in-process", exc)
            return self
        if pid == 0:
            os.close(read_fd)
            _child(self.job, write_fd)
        os.close(write_fd)
        self._pid, self._read_fd = pid, read_fd
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._pid is None:
            return
        if exc_type is not None:
            os.kill(self._pid, signal.SIGKILL)
            os.close(self._read_fd)
            os.waitpid(self._pid, 0)
            return
        with os.fdopen(self._read_fd, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not payload:
            logger.debug("the meta-feature child failed; extracting in-process")
            return
        from automl_meta.metafeatures import MetaFeatures

        document = json.loads(payload)
        self.result = dataclasses.replace(
            MetaFeatures.from_dict(document["metafeatures"], cached=bool(document["cached"])),
            seconds=float(document["seconds"]),
        )
