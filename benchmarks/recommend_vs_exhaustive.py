"""Recommend vs the whole portfolio: wall time and the real score of the top-1 and top-3 learners.

For each PMLB dataset (1k-50k rows), leave-one-out: the meta-model is trained
on the meta-database *without* that dataset (matched by name and by content
hash), then

* exhaustive: ``evaluate`` runs every learner the meta-database knows for the
  task (``--cv`` folds, rows capped at ``--max-rows``) -> its wall time and the
  best real score (the oracle);
* recommend: meta-features from scratch (no cache) + ranking -> its wall time
  (in-process, libraries already imported: see recommend_latency.py for whole processes);
  the real scores of its top-1 and best-of-top-3 are read from the exhaustive
  run (same folds, same seeds); ``recommend + top-3`` adds a measured
  evaluation of the three recommended learners with the same protocol;
* with ``--probe``, recommend --probe: the same ranking re-ordered by a probe
  (every learner on three 1,000-row subsamples, 3 folds; recommend's defaults) -> its extra wall time and
  the real score of its top-1, read from the exhaustive run.

Prints, per dataset and on average: time ratio (recommend / exhaustive, and
recommend+top-3 / exhaustive), score ratio (top-k / oracle) and regret
(oracle - top-k, in metric points).

Usage::

    python benchmarks/recommend_vs_exhaustive.py [--pmlb DIR] [--db PATH] [--datasets a,b] \\
        [--cv 3] [--max-rows 3000] [--probe] [--json]   # --json: {"cv", "max_rows", "machine", "rows": [...]}
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import sys
import time
from pathlib import Path
from machine import describe  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PMLB = REPO.parent / "shared" / "datasets" / "pmlb"
DEFAULT_DATASETS = "churn,page_blocks,nursery,adult,503_wind,197_cpu_act,537_houses,564_fried"


def _file_for(folder: Path, name: str) -> Path:
    for suffix in (".tsv.gz", ".tsv", ".csv", ".csv.gz", ".parquet"):
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    raise SystemExit(f"{name}: not found in {folder}")


def _excluded(db_path: Path, dataset) -> list[str]:
    """Names of meta-database datasets that are this one (same name or same content)."""
    from automl_meta.metadb import MetaDB

    with MetaDB.open(db_path) as db:
        known = db.datasets(dataset.task)
    same = (known["name"] == dataset.name) | (known["content_hash"] == dataset.content_hash())
    return sorted(known.loc[same, "name"].astype(str))


def run_one(path: Path, args) -> dict:
    from threadpoolctl import threadpool_limits

    from automl_meta.evaluation import evaluate
    from automl_meta.io import load_dataset
    from automl_meta.io.metadb_resolve import load_selector
    from automl_meta.metafeatures import extract_metafeatures
    from automl_meta.recommend import recommend

    dataset = load_dataset(path)
    db_path = Path(args.db) if args.db else None
    from automl_meta.io.metadb_resolve import resolve_db_path

    resolved = resolve_db_path(db_path)
    exclude = _excluded(resolved, dataset)
    start = time.perf_counter()
    selector = load_selector(dataset.task, db=resolved, exclude=exclude or [dataset.name], random_state=args.random_state)
    train_seconds = time.perf_counter() - start
    learners = list(selector.model.learners_) if hasattr(selector.model, "learners_") else None

    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # as `automl-meta recommend` does
        mf = extract_metafeatures(dataset, **selector.mf_options)
        rec = recommend(dataset, selector.model, metric=selector.metric, maximize=selector.maximize, metafeatures=mf, k_nearest=3)
    rec_seconds = time.perf_counter() - start

    max_rows = args.max_rows or None
    start = time.perf_counter()
    full = evaluate(dataset, learners=learners or [r.learner for r in rec.ranking], cv=args.cv, metric=selector.metric,
                    timeout=args.timeout, random_state=args.random_state, max_rows=max_rows)
    exhaustive_seconds = time.perf_counter() - start

    top3 = [r.learner for r in rec.top(3)]
    start = time.perf_counter()
    evaluate(dataset, learners=top3, cv=args.cv, metric=selector.metric, timeout=args.timeout,
             random_state=args.random_state, max_rows=max_rows)
    top3_seconds = time.perf_counter() - start

    probed = None
    if args.probe:
        from automl_meta.probe import with_probe

        start = time.perf_counter()
        probed = with_probe(dataset, rec, random_state=args.random_state)
        probe_seconds = time.perf_counter() - start

    sign = 1.0 if selector.maximize else -1.0
    real = {r.learner: (r.mean if r.status == "ok" else math.nan) for r in full.results}
    finite = {k: v for k, v in real.items() if math.isfinite(v)}
    oracle_learner = max(finite, key=lambda k: sign * finite[k])
    oracle = finite[oracle_learner]
    top1 = real.get(top3[0], math.nan)
    best3 = max((real.get(name, math.nan) for name in top3), key=lambda v: sign * v if math.isfinite(v) else -math.inf)
    probe = {}
    if probed is not None:
        learner = probed.ranking[0].learner
        score = real.get(learner, math.nan)
        probe = {"probe_seconds": probe_seconds, "probe_top1_learner": learner, "probe_top1": score,
                 "probe_top1_score_ratio": score / oracle if oracle else math.nan, "probe_top1_regret": sign * (oracle - score)}
    return {
        "dataset": dataset.name,
        "task": dataset.task,
        "rows": dataset.n_rows,
        "rows_evaluated": full.n_rows,
        "metric": selector.metric,
        "excluded": exclude,
        "n_learners": len(real),
        "exhaustive_seconds": exhaustive_seconds,
        "recommend_seconds": rec_seconds,
        "metafeature_seconds": mf.seconds,
        "loo_training_seconds": train_seconds,
        "top3_evaluation_seconds": top3_seconds,
        "time_ratio": rec_seconds / exhaustive_seconds,
        "time_ratio_with_top3": (rec_seconds + top3_seconds) / exhaustive_seconds,
        "oracle_learner": oracle_learner,
        "oracle": oracle,
        "top1_learner": top3[0],
        "top1": top1,
        "top3_learners": top3,
        "top3": best3,
        "top1_score_ratio": top1 / oracle if oracle else math.nan,
        "top3_score_ratio": best3 / oracle if oracle else math.nan,
        "top1_regret": sign * (oracle - top1),
        "top3_regret": sign * (oracle - best3),
        "top1_rank_in_truth": 1 + sum(sign * v > sign * top1 for v in finite.values()) if math.isfinite(top1) else None,
        **probe,
    }


def _warm_up() -> None:
    """Import pymfe, LightGBM and the portfolio once, so no dataset's timing pays for them."""
    import numpy as np
    import pandas as pd

    from automl_meta.dataset import make_dataset
    from automl_meta.metafeatures import extract_metafeatures

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "y": rng.choice(["p", "q"], size=60)})
    extract_metafeatures(make_dataset(frame, target="y"))


def _print_table(rows: list[dict], run: dict) -> None:
    """The table of ``rows``; ``run`` holds the protocol they were measured under (cv, max_rows, machine)."""
    cap = f"rows capped at {run['max_rows']}" if run.get("max_rows") else "all rows"
    folds = f"{run['cv']}-fold CV" if run.get("cv") else "CV folds not recorded"
    print(f"# machine: {run.get('machine') or 'not recorded'}")
    print(f"exhaustive = evaluate(every learner), {folds}, {cap}; recommend = cold meta-features + ranking "
          "(leave-one-out meta-model)")
    head = (f"{'dataset':<20}{'rows':>7}{'metric':>19}{'exh s':>8}{'rec s':>7}{'+top3 s':>8}{'t ratio':>8}"
            f"{'t ratio+3':>10}{'oracle':>8}{'top1':>8}{'top3':>8}{'s1 ratio':>9}{'s3 ratio':>9}  top1 learner (oracle)")
    print(head)
    for r in rows:
        print(f"{r['dataset'][:19]:<20}{r['rows']:>7}{r['metric']:>19}{r['exhaustive_seconds']:>8.1f}{r['recommend_seconds']:>7.2f}"
              f"{r['top3_evaluation_seconds']:>8.1f}{r['time_ratio']:>8.3f}{r['time_ratio_with_top3']:>10.3f}{r['oracle']:>8.4f}"
              f"{r['top1']:>8.4f}{r['top3']:>8.4f}{r['top1_score_ratio']:>9.4f}{r['top3_score_ratio']:>9.4f}"
              f"  {r['top1_learner']} ({r['oracle_learner']})")
    mean = lambda key: statistics.fmean(r[key] for r in rows if r[key] is not None and math.isfinite(r[key]))  # noqa: E731
    print(f"{'mean':<20}{'':>7}{'':>19}{mean('exhaustive_seconds'):>8.1f}{mean('recommend_seconds'):>7.2f}"
          f"{mean('top3_evaluation_seconds'):>8.1f}{mean('time_ratio'):>8.3f}{mean('time_ratio_with_top3'):>10.3f}"
          f"{mean('oracle'):>8.4f}{mean('top1'):>8.4f}{mean('top3'):>8.4f}{mean('top1_score_ratio'):>9.4f}{mean('top3_score_ratio'):>9.4f}")
    print(f"mean regret vs the oracle: top-1 {mean('top1_regret'):.4f}, top-3 {mean('top3_regret'):.4f} (metric points); "
          f"total time: exhaustive {sum(r['exhaustive_seconds'] for r in rows):.0f} s, "
          f"recommend {sum(r['recommend_seconds'] for r in rows):.1f} s, recommend+top-3 "
          f"{sum(r['recommend_seconds'] + r['top3_evaluation_seconds'] for r in rows):.0f} s")
    if all("probe_top1" in r for r in rows):
        print("\nrecommend --probe (its defaults): probe time and the real score of its top-1")
        print(f"{'dataset':<20}{'probe s':>8}{'top1':>8}{'s1 ratio':>9}{'regret':>8}  top1 learner")
        for r in rows:
            print(f"{r['dataset'][:19]:<20}{r['probe_seconds']:>8.1f}{r['probe_top1']:>8.4f}{r['probe_top1_score_ratio']:>9.4f}"
                  f"{r['probe_top1_regret']:>8.4f}  {r['probe_top1_learner']}")
        print(f"{'mean':<20}{mean('probe_seconds'):>8.1f}{mean('probe_top1'):>8.4f}{mean('probe_top1_score_ratio'):>9.4f}"
              f"{mean('probe_top1_regret'):>8.4f}  (without the probe: top-1 regret {mean('top1_regret'):.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pmlb", type=Path, default=DEFAULT_PMLB, help="folder of PMLB .tsv.gz files")
    parser.add_argument("--db", default=None, help="meta-database (default: the shipped one)")
    parser.add_argument("--datasets", default=DEFAULT_DATASETS, help="comma-separated PMLB names")
    parser.add_argument("--cv", type=at_least(2), default=3)
    parser.add_argument("--max-rows", type=int, default=3000, help="row cap for the evaluations (0: none)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per fit before a learner is killed")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--probe", action="store_true", help="also re-rank with recommend --probe's probe and score its top-1")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--table-from", type=Path, default=None, help="print the table of an earlier --json run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.table_from is not None:
        earlier = json.loads(args.table_from.read_text())
        if isinstance(earlier, list):  # written before the protocol was recorded beside the rows
            earlier = {"rows": earlier}
        _print_table(earlier["rows"], earlier)
        return
    run = {"cv": args.cv, "max_rows": args.max_rows, "machine": describe()}
    _warm_up()
    rows = []
    for name in [n.strip() for n in args.datasets.split(",") if n.strip()]:
        path = _file_for(args.pmlb, name)
        print(f"... {name}", file=sys.stderr, flush=True)
        rows.append(run_one(path, args))
    if args.json:
        print(json.dumps({**run, "rows": rows}, indent=2, default=float))
    else:
        _print_table(rows, run)


if __name__ == "__main__":
    run_script(main)
