"""Read an ASlib scenario folder (the Algorithm Selection Library format).

A scenario folder holds ``description.txt`` (YAML: performance measure, its
direction, the runtime cutoff, the algorithms, the feature steps),
``feature_values.arff``, ``algorithm_runs.arff`` and ``cv.arff`` (the official
fold of every instance). The format is specified at aslib.net; Bischl et al.,
"ASlib: A Benchmark Library for Algorithm Selection", AIJ 237 (2016).

:func:`read_scenario` returns an :class:`ASlibScenario` with the features and
the performance matrix as DataFrames indexed by ``instance_id``:

* feature values ``?`` become NaN; repetitions of an instance are averaged;
* for runtime scenarios with a cutoff, a run whose status is not ``ok`` or
  whose runtime reaches the cutoff counts as PAR10 (ten times the cutoff), the
  usual convention of ASlib evaluations; without a cutoff, and for solution
  quality, a run whose status is not ``ok`` is missing (NaN = failed);
  repetitions are then averaged (over the runs that have a value);
* ``folds`` comes from ``cv.arff``, its lowest repetition (1 in every ASlib
  scenario).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from automl_meta.exceptions import DatasetError

logger = logging.getLogger(__name__)

PAR_FACTOR = 10
REQUIRED_FILES = ("description.txt", "feature_values.arff", "algorithm_runs.arff")
PERFORMANCE_TYPES = ("runtime", "solution_quality")


@dataclass(frozen=True, eq=False)
class ASlibScenario:
    """One ASlib scenario, parsed (see the module docstring for the conventions)."""

    name: str
    features: pd.DataFrame  # instance_id x feature, float, NaN for '?'
    performance: pd.DataFrame  # instance_id x algorithm, float (PAR10 applied for runtime), NaN = failed
    maximize: bool
    performance_measure: str
    performance_type: str  # "runtime" | "solution_quality"
    cutoff: float | None
    folds: pd.Series  # instance_id -> fold (int); empty without cv.arff
    algorithms: list[str] = field(default_factory=list)
    description: dict = field(default_factory=dict)
    runstatus: pd.DataFrame | None = None  # instance_id x algorithm, the status of repetition 1

    @property
    def n_instances(self) -> int:
        return len(self.performance)


MISSING_RUN = "missing"  # the runstatus of an instance-algorithm pair algorithm_runs.arff has no row for


def _first(value, default=None):
    """ASlib stores per-measure settings as one-element lists; unwrap them."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else default
    return default if value is None else value


MAX_NAME = 200


def _scenario_name(value, path: Path) -> str:
    """The scenario's name (its task becomes ``aslib:<name>``): ``scenario_id``, else the folder's name; short plain text."""
    if value is None or value == "":
        value = path.name
    elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DatasetError(f"{path / 'description.txt'}: scenario_id is a {type(value).__name__}, not a name; "
                           "give one line of text, e.g. scenario_id: MY-SCENARIO")
    name = str(value).strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise DatasetError(f"{path / 'description.txt'}: scenario_id must be printable text of 1 to {MAX_NAME} characters "
                           f"(it is {len(name)} long{'' if name.isprintable() else ', with control characters'}); "
                           "give a short name, e.g. scenario_id: MY-SCENARIO")
    return name


def _as_cutoff(value) -> float | None:
    try:
        cutoff = float(value)
    except (TypeError, ValueError):  # '?' or missing
        return None
    return cutoff if np.isfinite(cutoff) and cutoff > 0 else None


def _as_bool(value, path: Path) -> bool:
    """A ``maximize`` entry: YAML true/false (or the strings "true"/"false"); anything else is refused."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, bool):
        return value
    raise DatasetError(f"{path}: maximize {value!r} is neither true nor false; write maximize: [true] or [false]")


def read_description(path: str | Path) -> dict:
    """Parse ``description.txt`` (YAML) into a dict; text that is not UTF-8 is read as Latin-1, as data files are."""
    import yaml

    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # a contributor's name in a comment, written by an editor in Latin-1
        text = raw.decode("latin-1")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DatasetError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}); is this an ASlib description.txt?") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a YAML mapping of scenario settings")
    return data


def read_arff_frame(path: str | Path) -> pd.DataFrame:
    """An ARFF file as a DataFrame (``?`` -> None, numeric columns float)."""
    import arff  # liac-arff

    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig") as handle:  # a byte-order mark is not the ARFF's first line
            decoded = arff.load(handle)
    except Exception as exc:  # liac-arff raises many private error types
        raise DatasetError(f"{path}: not a valid ARFF file ({exc})") from None
    columns = [name for name, _ in decoded["attributes"]]
    frame = pd.DataFrame(decoded["data"], columns=columns)
    for name, kind in decoded["attributes"]:
        if isinstance(kind, str) and kind.upper() in ("NUMERIC", "REAL", "INTEGER"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame


def _instance_ids(frame: pd.DataFrame, path: Path) -> pd.Series:
    if "instance_id" not in frame.columns:
        raise DatasetError(f"{path}: no instance_id attribute; not an ASlib file")
    return frame["instance_id"].astype(str)


def _read_features(path: Path) -> pd.DataFrame:
    frame = read_arff_frame(path)
    frame["instance_id"] = _instance_ids(frame, path)
    values = frame.drop(columns=[c for c in ("repetition",) if c in frame.columns])
    features = values.groupby("instance_id", sort=True).mean(numeric_only=True)
    features.index.name = "instance_id"
    features.columns.name = "feature"
    return features.astype(float)


def _read_runs(path: Path, measure: str | None, performance_type: str, cutoff: float | None):
    frame = read_arff_frame(path)
    frame["instance_id"] = _instance_ids(frame, path)
    if "algorithm" not in frame.columns:
        raise DatasetError(f"{path}: no algorithm attribute; not an ASlib algorithm_runs file")
    measures = [c for c in frame.columns if c not in ("instance_id", "repetition", "algorithm", "runstatus")]
    if not measures:
        raise DatasetError(f"{path}: no performance column")
    measure = measure or measures[0]
    if measure not in frame.columns:
        raise DatasetError(f"{path}: no column for the performance measure {measure!r} (found {', '.join(measures)})")
    values = frame[measure].astype(float)
    status = frame["runstatus"].astype(str) if "runstatus" in frame.columns else pd.Series("ok", index=frame.index)
    failed = status != "ok"
    if performance_type == "runtime" and cutoff is not None:
        failed |= ~(values < cutoff)  # NaN runtime counts as failed
        values = values.where(~failed, PAR_FACTOR * cutoff)
    else:  # no penalty defined: a crash, timeout or memout is a missing (failed) run
        values = values.where(~failed)
    frame = frame.assign(_value=values, runstatus=status)
    keys = [c for c in ("instance_id", "algorithm", "repetition") if c in frame.columns]
    twice = frame[frame.duplicated(keys, keep=False)]
    if len(twice):
        first = twice.iloc[0]
        repetition = first.get("repetition", 1)
        raise DatasetError(f"{path}: instance {first['instance_id']!r} has more than one run of {first['algorithm']!r} "
                           f"in repetition {float(repetition):g} ({len(twice)} such rows); number the runs in the "
                           "repetition column or drop the copies")
    performance = frame.pivot_table(index="instance_id", columns="algorithm", values="_value", aggfunc="mean",
                                    sort=True, dropna=False)  # keep instances and algorithms whose runs all failed
    first = frame if "repetition" not in frame.columns else frame[frame["repetition"] == frame["repetition"].min()]
    runstatus = first.pivot(index="instance_id", columns="algorithm", values="runstatus").sort_index()
    absent = runstatus.isna().to_numpy()
    if absent.any():  # ASlib lists every run; such a pair counts as a failed run
        i, j = np.argwhere(absent)[0]
        penalized = performance_type == "runtime" and cutoff is not None
        logger.warning("%s: %d instance-algorithm pairs have no run, such as %s on %r; each counts as failed%s",
                       path, int(absent.sum()), runstatus.columns[j], runstatus.index[i], " (PAR10)" if penalized else "")
        if penalized:  # as a crash or timeout is scored; without a penalty it stays missing, the instance's worst
            missing = pd.DataFrame(absent, index=runstatus.index, columns=runstatus.columns)
            performance = performance.mask(missing.reindex(index=performance.index, columns=performance.columns, fill_value=False),
                                           PAR_FACTOR * cutoff)
        runstatus = runstatus.where(~absent, MISSING_RUN)
    performance.columns.name = "algorithm"
    return measure, performance.astype(float), runstatus


def _read_folds(path: Path) -> pd.Series:
    if not path.is_file():
        logger.warning("%s: absent; the scenario has no official folds", path)
        return pd.Series(dtype="int64", name="fold")
    frame = read_arff_frame(path)
    frame["instance_id"] = _instance_ids(frame, path)
    if "fold" not in frame.columns:
        raise DatasetError(f"{path}: no fold attribute; give cv.arff an instance_id, repetition and fold column")
    if "repetition" in frame.columns and frame["repetition"].notna().any():
        repetition = frame["repetition"].min()
        if repetition != 1:
            logger.warning("%s: no repetition 1; using repetition %g", path, repetition)
        frame = frame[frame["repetition"] == repetition]
    duplicated = frame["instance_id"][frame["instance_id"].duplicated()]
    if len(duplicated):
        raise DatasetError(f"{path}: instance {duplicated.iloc[0]!r} appears more than once in one repetition; "
                           "give each instance one fold per repetition")
    folds = pd.to_numeric(frame["fold"], errors="coerce")
    bad = frame[~(np.isfinite(folds) & (folds == folds.round()))]
    if len(bad):
        instance, value = bad.iloc[0][["instance_id", "fold"]]
        value = "?" if pd.isna(value) else str(value)
        raise DatasetError(f"{path}: instance {instance!r} has fold {value!r}, not an integer; give every instance an integer fold")
    folds = pd.Series(folds.astype("int64").to_numpy(), index=pd.Index(frame["instance_id"], name="instance_id"), name="fold")
    return folds.sort_index()


def read_scenario(path: str | Path, measure: str | None = None) -> ASlibScenario:
    """Read the ASlib scenario in folder ``path``.

    Parameters
    ----------
    path : folder with ``description.txt``, ``feature_values.arff``,
        ``algorithm_runs.arff`` and (optionally) ``cv.arff``.
    measure : performance measure to use when the scenario records several
        (default: the first one listed in ``description.txt``).
    """
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder; give an ASlib scenario folder (with description.txt)")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise DatasetError(f"{path}: not an ASlib scenario, missing {', '.join(missing)}")
    description = read_description(path / "description.txt")
    measures = description.get("performance_measures") or []
    if isinstance(measures, str):
        measures = [measures]
    if measure is not None and measures and measure not in measures:
        raise DatasetError(f"{path}: no performance measure {measure!r}; the scenario has {', '.join(map(str, measures))}")
    index = measures.index(measure) if measure in measures else 0
    absent = [field for field in ("maximize", "performance_type") if description.get(field) in (None, [], "")]
    if absent:  # a default would judge every selector the wrong way round, or as runtimes
        raise DatasetError(f"{path / 'description.txt'}: no {' and no '.join(absent)}; ASlib requires "
                           f"{'them' if len(absent) > 1 else 'it'} (e.g. maximize: [false], performance_type: [runtime])")
    maximize_list = description["maximize"]
    types = description["performance_type"]
    maximize_list = maximize_list if isinstance(maximize_list, list) else [maximize_list]
    types = types if isinstance(types, list) else [types]
    maximize = _as_bool(maximize_list[min(index, len(maximize_list) - 1)], path / "description.txt")
    performance_type = str(types[min(index, len(types) - 1)]).strip()
    if performance_type not in PERFORMANCE_TYPES:
        raise DatasetError(f"{path}: performance_type {performance_type!r} is not one of {', '.join(PERFORMANCE_TYPES)}")
    cutoff = _as_cutoff(description.get("algorithm_cutoff_time"))
    if performance_type == "runtime" and cutoff is None:  # without it there is no PAR10 for the runs that failed
        logger.warning("%s: a runtime scenario without an algorithm_cutoff_time (ASlib requires one): runs that did not "
                       "finish count as failed, with no PAR%d score, and instances where every run failed drop out",
                       path / "description.txt", PAR_FACTOR)
    wanted = measure or (str(measures[index]) if measures else None)

    measure_name, performance, runstatus = _read_runs(path / "algorithm_runs.arff", wanted, performance_type, cutoff)
    features = _read_features(path / "feature_values.arff")
    if set(features.index) != set(performance.index):
        logger.warning(
            "%s: %d instances have runs but no features, %d have features but no runs; keeping the instances with runs",
            path.name,
            len(set(performance.index) - set(features.index)),
            len(set(features.index) - set(performance.index)),
        )
    features = features.reindex(performance.index)
    listed = description.get("metainfo_algorithms") or {}
    algorithms = [a for a in listed if a in performance.columns] + [a for a in performance.columns if a not in listed]
    performance = performance[algorithms]
    runstatus = runstatus.reindex(index=performance.index, columns=algorithms)
    folds = _read_folds(path / "cv.arff")
    if len(folds) and not folds.index.isin(performance.index).any():
        raise DatasetError(f"{path / 'cv.arff'}: names none of the scenario's instances; give the instance_id values "
                           "of algorithm_runs.arff")
    unfolded = performance.index[~performance.index.isin(folds.index)] if len(folds) else performance.index[:0]
    if len(unfolded):
        raise DatasetError(f"{path / 'cv.arff'}: gives no fold to {len(unfolded)} of the scenario's instances "
                           f"(such as {unfolded[0]!r}); give every instance of algorithm_runs.arff a fold")
    return ASlibScenario(
        name=_scenario_name(description.get("scenario_id"), path),
        features=features,
        performance=performance,
        maximize=maximize,
        performance_measure=measure_name,
        performance_type=performance_type,
        cutoff=cutoff,
        folds=folds,
        algorithms=list(algorithms),
        description=description,
        runstatus=runstatus,
    )
