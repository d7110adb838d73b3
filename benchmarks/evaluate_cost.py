"""What running the whole portfolio costs: wall seconds per learner on three PMLB datasets.

This is the cost ``automl-meta recommend`` saves a user (they would otherwise
cross-validate every candidate), and the per-dataset cost of building the
meta-database. Learners run one after another in this process (``n_jobs=1``,
one thread each, as in the meta-database build), so the time between two
learners finishing is that learner's wall time: building, fitting, predicting
and scoring on every fold. The process's CPU seconds over the same span are
reported beside it: on a shared, oversubscribed machine wall time inflates,
CPU time much less. The learners first run once, untimed, on 60 synthetic rows
of each task, so that no learner timed pays for the imports and the first
call's set-up.

Usage::

    python benchmarks/evaluate_cost.py                       # hepatitis, wine_quality_red, churn; 5-fold
    python benchmarks/evaluate_cost.py --pmlb DIR --cv 3 --max-rows 2000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from machine import describe  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PMLB = REPO.parent / "shared" / "datasets" / "pmlb"
# (name, task as PMLB's MANIFEST.csv gives it): small, medium and large
DEFAULT_DATASETS = ("hepatitis:classification", "wine_quality_red:classification", "churn:classification")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pmlb", type=Path, default=DEFAULT_PMLB, help="folder of PMLB .tsv.gz files (default: ../shared/datasets/pmlb)")
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS), help="NAME:TASK entries, small to large")
    parser.add_argument("--cv", type=at_least(2), default=5)
    parser.add_argument("--max-rows", type=int, default=None, help="row cap (the shipped meta-database uses 2000)")
    parser.add_argument("--learners", default="all")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a Markdown table")
    return parser.parse_args(argv)


def time_portfolio(dataset, args) -> tuple[dict, dict, float, float, object]:
    """``({learner: wall s}, {learner: CPU s}, total wall s, total CPU s, EvaluationResult)`` for one dataset."""
    from automl_meta.evaluation import evaluate

    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    last = [time.perf_counter(), time.process_time()]

    def on_result(result) -> None:
        now, now_cpu = time.perf_counter(), time.process_time()
        seconds[result.learner], cpu[result.learner] = now - last[0], now_cpu - last[1]
        last[:] = [now, now_cpu]
        print(f"  {dataset.name:>18s} {result.learner:<24s} {seconds[result.learner]:7.2f} s wall {cpu[result.learner]:7.2f} s CPU  {result.status}",
              file=sys.stderr, flush=True)

    start, start_cpu = time.perf_counter(), time.process_time()
    result = evaluate(
        dataset,
        learners=None if args.learners == "all" else args.learners,
        cv=args.cv,
        max_rows=args.max_rows,
        random_state=args.random_state,
        n_jobs=1,
        on_result=on_result,
    )
    return seconds, cpu, time.perf_counter() - start, time.process_time() - start_cpu, result


def warm_up(tasks, args) -> None:
    """Run the learners once on 60 rows of each task, untimed: the first learner and dataset timed pay no imports."""
    import numpy as np
    import pandas as pd

    from automl_meta.dataset import make_dataset
    from automl_meta.evaluation import evaluate
    from automl_meta.learners.portfolio import LEARNERS
    from automl_meta.metadb.task_learners import check_learner_names

    check_learner_names(None if args.learners == "all" else args.learners.split(","))  # one line, before LEARNERS[...]
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "c": rng.choice(["u", "v"], size=60)})
    for task in sorted(tasks):
        y = rng.choice(["p", "q"], size=60) if task == "classification" else rng.normal(size=60)
        wanted = None if args.learners == "all" else [n for n in args.learners.split(",") if LEARNERS[n].supports(task)]
        if wanted != []:
            evaluate(make_dataset(frame.assign(y=y), target="y", task=task), learners=wanted, cv=2, n_jobs=1)


def main(argv=None) -> None:
    args = parse_args(argv)
    from automl_meta.io import load_dataset

    if not args.pmlb.is_dir():
        raise SystemExit(f"no PMLB folder at {args.pmlb}; pass --pmlb DIR")
    report = {"machine": describe(), "cv": args.cv, "max_rows": args.max_rows, "datasets": []}
    datasets = []
    for entry in args.datasets:
        name, _, task = entry.partition(":")
        datasets.append((name, load_dataset(args.pmlb / f"{name}.tsv.gz", task=task or "auto")))
    warm_up({d.task for _, d in datasets}, args)
    for name, dataset in datasets:
        seconds, cpu, total, total_cpu, result = time_portfolio(dataset, args)
        report["datasets"].append({
            "name": name,
            "task": dataset.task,
            "rows": result.n_rows,
            "features": dataset.n_features,
            "total_seconds": total,
            "total_cpu_seconds": total_cpu,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "status": {r.learner: r.status for r in result.results},
            "best": result.results[0].learner,
            "metric": result.metric,
        })
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(render(report))


def render(report: dict) -> str:
    """A Markdown table: one row per learner, one column per dataset."""
    sets = report["datasets"]
    names = []
    for d in sets:
        names += [n for n in d["seconds"] if n not in names]
    head = "| learner | " + " | ".join(f"{d['name']} ({d['rows']} x {d['features']}, {d['task'][:5]}.)" for d in sets) + " |"
    lines = [f"{report['cv']}-fold CV, wall seconds (CPU seconds) per learner, one thread; {report['machine']}" + (f"; max rows {report['max_rows']}" if report["max_rows"] else ""), "", head,
             "|---|" + "---:|" * len(sets)]
    for n in sorted(names, key=lambda n: -sum(d["seconds"].get(n, 0.0) for d in sets)):
        cells = []
        for d in sets:
            value = d["seconds"].get(n)
            status = d["status"].get(n, "ok")
            cpu = d["cpu_seconds"].get(n, 0.0)
            cells.append("" if value is None else f"{value:.1f} ({cpu:.1f})" + ("" if status == "ok" else f" {status}"))
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("| **whole portfolio** | " + " | ".join(f"**{d['total_seconds']:.1f} ({d['total_cpu_seconds']:.1f})**" for d in sets) + " |")
    lines.append("| best learner | " + " | ".join(f"{d['best']} ({d['metric']})" for d in sets) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    run_script(main)
