"""Selector benchmark: the meta-model vs SBS, random, auto-sklearn kNN and FLAML 1-NN.

Runs, each over several seeds (mean, spread over seeds, and a 95% bootstrap
interval over held-out datasets):

- ASlib OPENML-WEKA-2017 with its official 10-fold cv.arff (accuracy, maximize);
- ASlib SAT11-HAND, CSP-2010 and MIP-2016 with their cv.arff (runtime, PAR10 form);
- leave-one-dataset-out on the shipped meta-database, per task, with the
  database's noise floor (the fold-peeking selector of
  ``automl_meta.selection.noise``).

``--pairwise-rf`` adds SATzilla-2011-style pairwise random forests
(``automl_meta.selection.pairwise_forest``; one forest per pair of learners, so
it takes a while); ``--forest`` the multi-output random forest
(``automl_meta.selection.multi_forest``, seconds). ``--variants`` adds the four meta-model formulations (per_learner, single,
ranker, pairwise; gradient boosting with small trees, pairwise on an 8-learner
portfolio) beside the default (per-learner, LightGBM rf mode, range-weighted),
which is how the default was chosen.

Usage (from the repository root; the ASlib data sit in ../shared/aslib)::

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/selector.py --seeds 5 [--forest] [--variants] [--only aslib|db]
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/selector.py --only db --tasks regression --pairwise-rf --pairwise-trees 100
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from automl_meta.exceptions import AutomlMetaError, MetaDBContentError, UsageError
from machine import print_machine  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUTOML_META_SHARED", REPO.parent / "shared"))
METRICS = ("top1_accuracy", "mean_regret", "remaining_gap", "gap_closed", "ndcg_at_3", "spearman")


def selectors(log_scores: bool, args: argparse.Namespace):
    from automl_meta.selection import MetaModel
    from automl_meta.selection.metamodel import GBDT_PARAMS
    from automl_meta.selection.protocols import SelectorSpec
    from automl_meta.selection.suite import default_selectors

    specs = default_selectors(log_scores, args.params, pairwise_forest=args.pairwise_rf, forest=args.forest,
                              pairwise_trees=args.pairwise_trees)
    if args.variants:
        for method in ("per_learner", "single", "ranker", "pairwise"):
            extra = {**GBDT_PARAMS, "portfolio_size": 8} if method == "pairwise" else GBDT_PARAMS
            specs[f"meta-model [{method}, gbdt]"] = SelectorSpec(
                lambda seed, m=method, e=extra: MetaModel(method=m, log_scores=log_scores, random_state=seed, **e)
            )
    return specs


def show(title: str, report: dict, seconds: float) -> None:
    tied = f" ({report['n_no_choice']} where every learner ties)" if report.get("n_no_choice") else ""
    print(f"\n## {title}: {report['protocol']}, {report['n_datasets']} datasets{tied} x {report['n_learners']} learners, "
          f"seeds {report['seeds']} ({seconds:.0f} s)")
    print("| selector | " + " | ".join(METRICS) + " | remaining gap 95% CI |")
    print("|---" * (len(METRICS) + 2) + "|")
    for name, res in report["selectors"].items():
        if res.get("error"):
            print(f"| {name} | " + " | ".join("-" for _ in METRICS) + f" | n/a ({res['error']}) |")
            continue
        cells = [f"{res['mean'][m]:.3f} ± {res['std'][m]:.3f}" for m in METRICS]
        ci = res["interval95"].get("remaining_gap")
        print(f"| {name} | " + " | ".join(cells) + (f" | [{ci[0]:.2f}, {ci[1]:.2f}] |" if ci else " | - |"))


def run_aslib(name: str, args: argparse.Namespace) -> dict:
    from automl_meta.io.aslib import read_scenario
    from automl_meta.selection.suite import evaluate_suite

    scenario = read_scenario(SHARED / "aslib" / name)
    log_scores = scenario.performance_type == "runtime"
    start = time.perf_counter()
    report = evaluate_suite(scenario.features, scenario.performance, scenario.maximize, folds=scenario.folds,
                            seeds=range(args.seeds), log_scores=log_scores, n_jobs=args.jobs,
                            selectors=selectors(log_scores, args))
    show(f"ASlib {name} ({scenario.performance_measure}{', PAR10' if log_scores else ''})", report, time.perf_counter() - start)
    return report


def run_db(task: str, args: argparse.Namespace) -> dict:
    from automl_meta.io.metadb_resolve import selection_data
    from automl_meta.metadb import MetaDB
    from automl_meta.selection.noise import noise_floor
    from automl_meta.selection.suite import evaluate_suite

    path = args.db
    with MetaDB.open(path) as db:  # as selector evaluate reads it
        metric = db.default_metric(task)
        maximize = db.maximize(metric)
        meta_X, scores = selection_data(db, task, metric)
        evaluations = db.evaluations(task)
        evaluations = evaluations[evaluations["dataset"].isin(scores.index) & evaluations["learner"].isin(scores.columns)]
    start = time.perf_counter()
    report = evaluate_suite(meta_X, scores, maximize, seeds=range(args.seeds), n_jobs=args.jobs,
                            selectors=selectors(False, args))
    show(f"meta-database {path.name}, {task} ({metric})", report, time.perf_counter() - start)
    try:
        floor = noise_floor(evaluations, scores.loc[meta_X.index.intersection(scores.index)], metric, maximize)
    except UsageError as exc:  # too few fold scores (--cv 2): the report stands without it, as in `selector evaluate`
        report["fold_peeking_selector"] = None
        print(f"noise floor: none ({exc})")
        return report
    report["fold_peeking_selector"] = floor
    print(f"noise floor (fold-peeking selector: chooses from {floor['choose_folds']} of each dataset's own folds, judged on "
          f"the other {floor['judge_folds']}): remaining gap {floor['remaining_gap']:.3f} "
          f"({floor['min']:.3f}-{floor['max']:.3f} over {floor['splits']} splits), SBS {floor['sbs']}; "
          f"a selector that knew every learner's mean: {floor['perfect_knowledge_remaining_gap']:.3f}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=at_least(1), default=5)
    parser.add_argument("--variants", action="store_true", help="also evaluate every meta-model formulation")
    parser.add_argument("--only", choices=("aslib", "db"), default=None)
    parser.add_argument("--scenarios", nargs="*", default=["OPENML-WEKA-2017", "SAT11-HAND", "CSP-2010", "MIP-2016"])
    parser.add_argument("--db", type=Path, default=REPO / "meta_db" / "metadb.sqlite")
    parser.add_argument("--params", type=json.loads, default={}, help="MetaModel parameters as JSON")
    parser.add_argument("--pairwise-rf", action="store_true",
                        help="also evaluate SATzilla-style pairwise random forests (slow: one forest per pair of learners)")
    parser.add_argument("--pairwise-trees", type=at_least(1), default=300, help="trees per pair of learners of --pairwise-rf")
    parser.add_argument("--tasks", nargs="*", default=["classification", "regression"], help="the meta-database's tasks to run")
    parser.add_argument("--forest", action="store_true",
                        help="also evaluate the multi-output random forest (automl_meta.selection.multi_forest)")
    parser.add_argument("--jobs", type=at_least(1), default=1, help="worker processes over the folds (same numbers)")
    parser.add_argument("--json", type=Path, default=None, help="also write every report to this JSON file")
    args = parser.parse_args()
    from automl_meta.selection import MetaModel

    try:
        MetaModel(**args.params)
    except TypeError as exc:  # an unknown parameter: before any fit, not at the first one
        parser.error(f"--params: {exc}")
    print_machine()
    reports = {}
    if args.only in (None, "aslib"):
        for name in args.scenarios:
            reports[name] = run_aslib(name, args)
    failed = None
    if args.only in (None, "db"):
        for task in args.tasks:
            try:
                reports[f"metadb/{task}"] = run_db(task, args)
            except MetaDBContentError as exc:  # a partial database may lack a task: report and go on
                print(f"\n## meta-database {task}: skipped ({type(exc).__name__}: {exc})")
            except AutomlMetaError as exc:  # the other tasks still run and the reports so far are written; the exit says it
                print(f"\n## meta-database {task}: failed ({exc})")
                failed = failed or exc
    if args.json:
        from automl_meta.cli._common import jsonable

        args.json.write_text(json.dumps(jsonable(reports), indent=1))
    if failed is not None:
        raise failed


if __name__ == "__main__":
    run_script(main)
