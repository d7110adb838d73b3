"""Probing under leave-one-dataset-out on the shipped meta-database (the figures of README's 'Probing').

For every dataset of the shipped meta-database (read again from PMLB), the
probe ``recommend --probe`` runs (:func:`automl_meta.probe.probe_scores`:
every candidate cross-validated on ``--draws`` stratified subsamples of
``--rows`` rows, ``--cv`` folds each, averaged; draw ``d`` seeded by
``--probe-seed`` + d; the 30 s budget of ``recommend``) is stored in a
resumable JSON-lines file. Then ``evaluate_selectors`` (the protocol of ``selector evaluate``)
scores, against the database's own 5-fold scores:

- ``meta-model``: the shipped formulation, meta-features only;
- ``probe``: the probe's order alone;
- ``blend w``: :class:`~automl_meta.selection.probe.ProbeBlend`, weight ``w`` on
  the probe's ranks (``recommend --probe`` uses 0.85).

The probe's scores are measured on other rows and folds than the database's,
so they carry no copy of its fold noise; on datasets of at most ``--rows`` rows
they are, like a user's probe, a second cross-validation of the same rows.
The blend's weight is constant here: every database score used at most 2,000
rows, so ``probe_weight``'s shrinking for probes under a quarter of the rows
never acts.

Usage (from the repository root, ../shared beside it)::

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/probe_selector.py --jobs 2
    ... --task regression --probe-seed 3 --seeds 3 --rows 500 --draws 1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUTOML_META_SHARED", REPO.parent / "shared"))


def probe_file(cache: Path, rows: int, cv: int, draws: int, seed: int, timeout: float) -> Path:
    several = f"_draws{draws}" if draws > 1 else ""
    return cache / f"probe_rows{rows}_cv{cv}{several}_seed{seed}_timeout{timeout:g}.jsonl"


def run_probes(datasets: pd.DataFrame, learners: dict, path: Path, rows: int, cv: int, draws: int, seed: int, jobs: int, timeout: float) -> None:
    """Probe every dataset not yet in ``path`` (one JSON line each, appended as it finishes)."""
    from rich.progress import Progress

    from automl_meta.io import load_dataset
    from automl_meta.probe import probe_scores

    done = {json.loads(line)["dataset"] for line in path.open()} if path.exists() else set()
    todo = datasets[~datasets["name"].isin(done)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as sink, Progress(transient=True) as progress:
        bar = progress.add_task(f"probing ({rows} rows)", total=len(todo))
        for row in todo.itertuples():
            start = time.perf_counter()
            data = load_dataset(SHARED / "datasets" / "pmlb" / row.source_id, task=row.task, name=row.name)
            probe = probe_scores(data, learners[row.task], rows=rows, cv=cv, random_state=seed, n_jobs=jobs, timeout=timeout, draws=draws)
            record = {"dataset": row.name, "task": row.task, "rows": probe.rows, "seconds": time.perf_counter() - start,
                      "scores": {k: (None if math.isnan(v) else v) for k, v in probe.scores.items()},
                      "draws": {k: int(v) for k, v in probe.draws.items()}}
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            progress.advance(bar)


def load_probes(path: Path, task: str) -> tuple[pd.DataFrame, list[float]]:
    records = [json.loads(line) for line in path.open()]
    records = [r for r in records if r["task"] == task]
    table = pd.DataFrame({r["dataset"]: r["scores"] for r in records}).T.astype(float)
    return table, [r["seconds"] for r in records]


def main() -> None:
    from automl_meta.io.metadb_resolve import resolve_db_path
    from automl_meta.io.mf_cache import default_cache_dir
    from automl_meta.metadb import MetaDB
    from automl_meta.selection.probe import PROBE_CV, PROBE_DRAWS, PROBE_PREFIX, PROBE_ROWS, PROBE_TIMEOUT, ProbeBest, ProbeBlend
    from automl_meta.selection.protocols import SelectorSpec, evaluate_selectors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("classification", "regression", "both"), default="both")
    parser.add_argument("--rows", type=int, default=PROBE_ROWS)
    parser.add_argument("--cv", type=int, default=PROBE_CV)
    parser.add_argument("--draws", type=int, default=PROBE_DRAWS)
    parser.add_argument("--probe-seed", type=int, default=0)
    parser.add_argument("--weights", default="0.5,0.7,0.85,1")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the meta-model")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=PROBE_TIMEOUT, help="seconds per probe fit (recommend's default)")
    parser.add_argument("--cache", type=Path, default=None, help="folder of the probe files (default: the cache's probes/)")
    args = parser.parse_args()
    pmlb = SHARED / "datasets" / "pmlb"
    if not pmlb.is_dir():
        raise SystemExit(f"needs the PMLB corpus at {pmlb} (set AUTOML_META_SHARED)")
    cache = args.cache or default_cache_dir().parent / "probes"
    path = probe_file(cache, args.rows, args.cv, args.draws, args.probe_seed, args.timeout)
    tasks = ("classification", "regression") if args.task == "both" else (args.task,)
    with MetaDB.open(resolve_db_path(None)) as store:
        datasets = store.datasets()
        tables = {t: (store.meta_features(t), store.scores(store.default_metric(t), t), store.maximize(store.default_metric(t))) for t in tasks}
    learners = {t: list(tables[t][1].columns) for t in tasks}
    run_probes(datasets[datasets["task"].isin(tasks)], learners, path, args.rows, args.cv, args.draws, args.probe_seed, args.jobs, args.timeout)
    print(f"probes: {path.name}")
    weights = [float(w) for w in args.weights.split(",")]
    for task in tasks:
        meta_X, scores, maximize = tables[task]
        probes, seconds = load_probes(path, task)
        probes = probes.reindex(index=meta_X.index, columns=scores.columns).add_prefix(PROBE_PREFIX)
        specs = {
            # weight 0: the meta-model's order alone, fitted on the meta-features without the probe columns
            "meta-model": SelectorSpec(lambda s: ProbeBlend(weight=0.0, random_state=s)),
            "probe": SelectorSpec(lambda s: ProbeBest(), seeded=False),
            **{f"blend {w:g}": SelectorSpec(lambda s, w=w: ProbeBlend(weight=w, random_state=s)) for w in weights},
        }
        start = time.perf_counter()
        results = evaluate_selectors(meta_X.join(probes), scores, bool(maximize), specs, seeds=range(args.seeds), n_jobs=args.jobs)
        print(f"\n## {task}: {len(meta_X)} datasets, leave-one-dataset-out ({time.perf_counter() - start:.0f} s); "
              f"probe {args.draws} x {args.rows} rows x {args.cv} folds, seed {args.probe_seed}: median {statistics.median(seconds):.1f} s, "
              f"max {max(seconds):.1f} s per dataset with {args.jobs} processes")
        print("| selector | remaining gap | per seed | top-1 | Spearman |")
        print("|---|---|---|---|---|")
        for name, result in results.items():
            gaps = [s["remaining_gap"] for s in result.per_seed]
            print(f"| {name} | {np.mean(gaps):.3f} +- {np.std(gaps):.3f} | {' / '.join(f'{g:.3f}' for g in gaps)} "
                  f"| {result.mean['top1_accuracy']:.3f} | {result.mean['spearman']:.3f} |")


if __name__ == "__main__":
    main()
