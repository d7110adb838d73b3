"""The OpenML client, configured for builds: cache folder, server, bounded retries, request timeout.

openml-python retries a failed request 5 times with growing pauses and sets no
request timeout, so one unreachable server can stall a build for minutes.
:func:`configure` sets the retries and installs a per-request timeout on the
HTTP sessions openml-python opens (only inside openml's own module; the rest
of the process keeps plain ``requests``). Every call goes through
:func:`_call`, which turns network and server failures into
:class:`OpenMLAccessError` with a one-line message.
"""

from __future__ import annotations

import logging
import os
import pickle
import types
from dataclasses import dataclass
from pathlib import Path
from xml.parsers.expat import ExpatError

import pandas as pd

from automl_meta.exceptions import DatasetError, OpenMLAccessError, UsageError

logger = logging.getLogger(__name__)

DEFAULT_SERVER = "https://www.openml.org/api/v1/xml"
TEST_SERVER = "https://test.openml.org/api/v1/xml"
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT = 30.0
TASK_TYPES = {1: "classification", 2: "regression"}
RUN_TASK_TYPES = {"Supervised Classification": "classification", "Supervised Regression": "regression"}  # a run's own words



@dataclass(frozen=True)
class OpenMLConfig:
    """Where openml-python keeps its cache and how it talks to the server (picklable, for workers)."""

    cache_dir: str | None = None
    server: str | None = None
    n_retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_TIMEOUT


def _requests_with_timeout(timeout: float):
    """A stand-in for the ``requests`` module whose sessions apply ``timeout`` to every request."""
    import requests

    class TimeoutSession(requests.Session):
        def request(self, method, url, **kwargs):
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = timeout
            return super().request(method, url, **kwargs)

    class RequestsWithTimeout(types.ModuleType):
        def __getattr__(self, name):
            return getattr(requests, name)

    module = RequestsWithTimeout("requests")
    module.Session = TimeoutSession
    return module


def check_cache_dir(config: OpenMLConfig) -> None:
    """Refuse, before any work, a cache openml-python could not use: a file, or a folder it cannot write to."""
    if config.cache_dir is None:
        return
    folder = Path(config.cache_dir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--openml-cache {folder}: a file, not a folder; give openml-python's cache folder")
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--openml-cache {folder}: openml-python writes into its cache, and this folder is not writable; "
                         "copy it to a writable place and give that")


def configure(config: OpenMLConfig) -> None:
    """Apply ``config`` to openml-python in this process (cache, server, retries, request timeout)."""
    import openml
    import openml._api_calls as api_calls

    if config.cache_dir is not None:
        Path(config.cache_dir).mkdir(parents=True, exist_ok=True)
        openml.config.set_root_cache_directory(str(Path(config.cache_dir).expanduser().resolve()))
    if config.server is not None:
        openml.config.server = config.server
    openml.config.set_retry_policy("human", max(1, int(config.n_retries)))
    openml.config.show_progress = False
    api_calls.requests = _requests_with_timeout(float(config.timeout))
    _through_our_logger(logging.getLogger("openml"), openml.config.console_handler)


class _Forward(logging.Handler):
    """openml-python's warnings (a corrupt cache file it reads around) as this module's: one line each, as ours."""

    def emit(self, record: logging.LogRecord) -> None:
        logger.log(record.levelno, "OpenML: %s", record.getMessage())


def _through_our_logger(openml_logger: logging.Logger, console: logging.Handler | None) -> None:
    """Silence openml-python's own console handler (raw multi-sentence lines on stderr) and forward its warnings."""
    if console is not None:
        console.setLevel(logging.CRITICAL + 1)
    if not any(isinstance(h, _Forward) for h in openml_logger.handlers):
        openml_logger.addHandler(_Forward(logging.WARNING))


def _call(what: str, fn, *args, **kwargs):
    """Run an openml-python call; network and server failures become :class:`OpenMLAccessError`."""
    import openml
    import requests

    try:
        return fn(*args, **kwargs)
    except (requests.exceptions.RequestException, openml.exceptions.OpenMLServerError, OSError) as exc:
        server = openml.config.server
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise OpenMLAccessError(
            f"OpenML: cannot get {what} from {server} after {openml.config.connection_n_retries} tries "
            f"({type(exc).__name__}: {message[:200]}); check the network, or use what is in the cache"
        ) from None
    except openml.exceptions.OpenMLServerException as exc:  # the server answered with an error code
        raise OpenMLAccessError(f"OpenML: the server refused {what} (code {exc.code}: {str(exc)[:200]})") from None
    except openml.exceptions.OpenMLCacheException as exc:
        raise OpenMLAccessError(f"OpenML: {what} is not in the cache ({exc})") from None
    except (ExpatError, pickle.UnpicklingError, EOFError) as exc:  # a cached XML or pickle file cut short or damaged
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise OpenMLAccessError(
            f"OpenML: a cached file of {what} is damaged ({type(exc).__name__}: {message[:200]}); delete that {what}'s "
            f"folder in the cache ({openml.config.get_cache_directory()}) and run again to fetch it anew"
        ) from None


def suite_task_ids(suite: int | str) -> list[int]:
    """The task ids of a benchmark suite (e.g. 99: OpenML-CC18)."""
    import openml

    return [int(t) for t in _call(f"suite {suite}", openml.study.get_suite, suite).tasks]


def get_task(task_id: int):
    """A supervised OpenML task (its splits are not needed here)."""
    import openml

    return _call(f"task {task_id}", openml.tasks.get_task, int(task_id), download_splits=False,
                 download_data=False, download_qualities=False, download_features_meta_data=False)


def task_info(task_id: int) -> dict:
    """{"task_id", "dataset_id", "target", "task"} of a supervised OpenML task."""
    task = get_task(task_id)
    task_type = TASK_TYPES.get(int(getattr(task.task_type_id, "value", task.task_type_id)))
    if task_type is None:
        raise DatasetError(f"OpenML task {task_id} is a {task.task_type}, not a supervised classification or regression task")
    return {"task_id": int(task_id), "dataset_id": int(task.dataset_id), "target": task.target_name, "task": task_type}


def get_dataset(dataset_id: int):
    """An OpenML dataset with its data, qualities and feature metadata, through the cache."""
    import openml

    return _call(f"dataset {dataset_id}", openml.datasets.get_dataset, int(dataset_id), download_data=True,
                 download_qualities=True, download_features_meta_data=True)


def load_openml_dataset(dataset_id: int, target: str | None = None, task: str = "auto"):
    """The OpenML dataset as our :class:`~automl_meta.dataset.Dataset`, plus its metadata dict.

    ``target`` defaults to the dataset's default target attribute.
    """
    from automl_meta.dataset import make_dataset

    ds = get_dataset(dataset_id)
    target = target or ds.default_target_attribute
    if not target:
        raise DatasetError(f"OpenML dataset {dataset_id} ({ds.name}) has no default target; give a task id instead")
    target = target.split(",")[0]
    X, y, _, _ = _call(f"data of dataset {dataset_id}", ds.get_data, target=target)
    frame = X.copy()
    frame[target] = y  # nominal attributes arrive as pandas categories, which stay categorical ({1,...,26} too)
    dataset = make_dataset(frame, target=target, task=task, name=ds.name)
    meta = {"dataset_id": int(dataset_id), "name": ds.name, "licence": getattr(ds, "licence", None), "version": getattr(ds, "version", None)}
    return dataset, meta


def dataset_qualities(dataset_id: int) -> dict[str, float | None]:
    """OpenML's data qualities (its meta-features) of a dataset."""
    ds = _call(f"dataset {dataset_id}", __import__("openml").datasets.get_dataset, int(dataset_id),
               download_data=False, download_qualities=True, download_features_meta_data=False)
    qualities = ds.qualities or {}
    return {str(k): (None if v is None or pd.isna(v) else float(v)) for k, v in qualities.items()}


def dataset_description(dataset_id: int) -> dict:
    """Name, licence, shape and default target of a dataset, without its data."""
    import openml

    ds = _call(f"dataset {dataset_id}", openml.datasets.get_dataset, int(dataset_id),
               download_data=False, download_qualities=True, download_features_meta_data=False)
    qualities = ds.qualities or {}
    get = lambda key: None if qualities.get(key) is None or pd.isna(qualities.get(key)) else int(qualities[key])  # noqa: E731
    return {
        "dataset_id": int(dataset_id), "name": ds.name, "licence": getattr(ds, "licence", None),
        "n_rows": get("NumberOfInstances"), "n_features": (get("NumberOfFeatures") or 1) - 1 if get("NumberOfFeatures") else None,
        "n_classes": get("NumberOfClasses"), "target": ds.default_target_attribute,
    }


def task_evaluations(task_id: int, function: str = "predictive_accuracy") -> pd.DataFrame:
    """OpenML's stored evaluations of every run on a task: flow_name, flow_id, run_id, value (one row per run)."""
    import openml

    frame = _call(f"evaluations of task {task_id}", openml.evaluations.list_evaluations, function=function,
                  tasks=[int(task_id)], output_format="dataframe")
    return frame if frame is not None else pd.DataFrame()


def run_evaluation(run_id: int, function: str = "predictive_accuracy") -> dict:
    """One stored run: {"run_id", "task_id", "task", "dataset_id", "flow_id", "flow_name", "value", "folds"} for ``function``.

    ``task`` is ``classification`` or ``regression`` as the run's own description says, None for another kind.
    """
    import openml

    run = _call(f"run {run_id}", openml.runs.get_run, int(run_id))
    folds = []
    per_fold = (run.fold_evaluations or {}).get(function) or {}
    for repeat in sorted(per_fold):
        folds.extend(per_fold[repeat][fold] for fold in sorted(per_fold[repeat]))
    return {
        "run_id": int(run.run_id), "task_id": run.task_id, "task": RUN_TASK_TYPES.get(str(run.task_type)), "dataset_id": run.dataset_id, "flow_id": run.flow_id,
        "flow_name": run.flow_name, "setup_string": getattr(run, "setup_string", None),
        "value": (run.evaluations or {}).get(function), "folds": [float(v) for v in folds],
    }
