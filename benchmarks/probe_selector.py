"""Probing under leave-one-dataset-out on the shipped meta-database (the figures of README's 'Probing').

For every dataset of the shipped meta-database (read again from PMLB), the
probe ``recommend --probe`` runs (:func:`automl_meta.probe.probe_scores`:
every candidate cross-validated on ``--draws`` stratified subsamples of
``--rows`` rows, ``--cv`` folds each, averaged; draw ``d`` seeded by
``--probe-seed`` + d; the 30 s budget of ``recommend``) is stored in a
resumable JSON-lines file (:func:`automl_meta.io.probe_runs.probe_table`, the
probes of ``selector evaluate --probe``). Then ``evaluate_selectors`` (the protocol of ``selector evaluate``)
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
import os
import time
from pathlib import Path

import numpy as np

from machine import print_machine  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUTOML_META_SHARED", REPO.parent / "shared"))


def main() -> None:
    from rich.progress import Progress

    from automl_meta.io.metadb_resolve import resolve_db_path
    from automl_meta.io.probe_runs import ProbeSettings, probe_table
    from automl_meta.metadb import MetaDB
    from automl_meta.selection.probe import PROBE_CV, PROBE_DRAWS, PROBE_ROWS, PROBE_TIMEOUT, ProbeBest, ProbeBlend
    from automl_meta.selection.protocols import SelectorSpec, evaluate_selectors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("classification", "regression", "both"), default="both")
    parser.add_argument("--rows", type=at_least(1), default=PROBE_ROWS)
    parser.add_argument("--cv", type=at_least(2), default=PROBE_CV)
    parser.add_argument("--draws", type=at_least(1), default=PROBE_DRAWS)
    parser.add_argument("--probe-seed", type=int, default=0)
    parser.add_argument("--weights", default="0.5,0.7,0.85,1")
    parser.add_argument("--seeds", type=at_least(1), default=3, help="seeds of the meta-model")
    parser.add_argument("--jobs", type=at_least(1), default=2)
    parser.add_argument("--timeout", type=float, default=PROBE_TIMEOUT, help="seconds per probe fit (recommend's default)")
    parser.add_argument("--cache", type=Path, default=None, help="folder of the probe files (default: that of `selector evaluate --probe`)")
    args = parser.parse_args()
    print_machine()
    pmlb = SHARED / "datasets" / "pmlb"
    if not pmlb.is_dir():
        raise SystemExit(f"needs the PMLB corpus at {pmlb} (set AUTOML_META_SHARED)")
    settings = ProbeSettings(rows=args.rows, cv=args.cv, draws=args.draws, seed=args.probe_seed, timeout=args.timeout)
    tasks = ("classification", "regression") if args.task == "both" else (args.task,)
    with MetaDB.open(resolve_db_path(None)) as store:
        tables = {t: (store.meta_features(t), store.scores(store.default_metric(t), t), store.maximize(store.default_metric(t)),
                      store.datasets(t)) for t in tasks}
    probed = {}
    for task in tasks:
        meta_X, scores, _, datasets = tables[task]
        with Progress(transient=True) as progress:
            bar = progress.add_task(f"probing {task} ({args.rows} rows)", total=len(datasets))
            probed[task] = probe_table(datasets.set_index("name").loc[meta_X.index].reset_index(), pmlb, list(scores.columns),
                                       settings, cache_dir=args.cache, n_jobs=args.jobs,
                                       progress=lambda n, bar=bar: progress.advance(bar, n))
        print(f"probes: {probed[task][1]['file']}")
    weights = [float(w) for w in args.weights.split(",")]
    for task in tasks:
        meta_X, scores, maximize, _ = tables[task]
        probes, summary = probed[task]
        specs = {
            # weight 0: the meta-model's order alone, fitted on the meta-features without the probe columns
            "meta-model": SelectorSpec(lambda s: ProbeBlend(weight=0.0, random_state=s)),
            "probe": SelectorSpec(lambda s: ProbeBest(), seeded=False),
            **{f"blend {w:g}": SelectorSpec(lambda s, w=w: ProbeBlend(weight=w, random_state=s)) for w in weights},
        }
        start = time.perf_counter()
        results = evaluate_selectors(meta_X.join(probes), scores, bool(maximize), specs, seeds=range(args.seeds), n_jobs=args.jobs)
        print(f"\n## {task}: {len(meta_X)} datasets, leave-one-dataset-out ({time.perf_counter() - start:.0f} s); "
              f"probe {args.draws} x {args.rows} rows x {args.cv} folds, seed {args.probe_seed}: median {summary['median_seconds']:.1f} s "
              f"per dataset with {args.jobs} processes")
        print("| selector | remaining gap | per seed | top-1 | Spearman |")
        print("|---|---|---|---|---|")
        for name, result in results.items():
            gaps = [s["remaining_gap"] for s in result.per_seed]
            print(f"| {name} | {np.mean(gaps):.3f} +- {np.std(gaps):.3f} | {' / '.join(f'{g:.3f}' for g in gaps)} "
                  f"| {result.mean['top1_accuracy']:.3f} | {result.mean['spearman']:.3f} |")


if __name__ == "__main__":
    run_script(main)
