"""How close `recommend`'s predicted scores come to the real ones, on held-out datasets.

K-fold over the meta-database's datasets (several shuffles): the meta-model is
trained on the other folds, then for each held-out dataset the learners it ranks
1st, 2nd and 3rd get their predicted score (``MetaModel.predict``, what the
``predicted`` column shows) compared with the real cross-validated score stored
in the database. Prints, per task and rank, the mean error (bias: predicted minus
real), the mean and the median absolute error, in the metric's units.

Usage::

    python benchmarks/predicted_scores.py [--db PATH] [--folds 5] [--seeds 2]
"""

from __future__ import annotations

import argparse
import os
import time

from machine import print_machine  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def errors(meta_X, scores, maximize: bool, folds: int, seeds: int, top: int = 3):
    import pandas as pd
    from sklearn.model_selection import KFold

    from automl_meta.selection import MetaModel

    rows = []
    for seed in range(seeds):
        for train, test in KFold(folds, shuffle=True, random_state=seed).split(meta_X):
            model = MetaModel(random_state=seed).fit(meta_X.iloc[train], scores.iloc[train], maximize=maximize)
            held_out = meta_X.iloc[test]
            predicted, utility = model.predict_with_utility(held_out)  # one pass through the boosters
            for dataset in held_out.index:
                for rank, learner in enumerate(utility.loc[dataset].sort_values(ascending=False).index[:top], start=1):
                    rows.append((rank, predicted.loc[dataset, learner], scores.loc[dataset, learner]))
    return pd.DataFrame(rows, columns=["rank", "predicted", "real"]).dropna()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="meta-database (default: the shipped one)")
    parser.add_argument("--folds", type=at_least(2), default=5)
    parser.add_argument("--seeds", type=at_least(1), default=2)
    args = parser.parse_args()
    print_machine()

    from automl_meta.io.metadb_resolve import resolve_db_path
    from automl_meta.metadb import MetaDB

    path = resolve_db_path(args.db)
    with MetaDB.open(path) as db:
        tasks = sorted(db.datasets()["task"].unique())
        data = {}
        for task in tasks:
            metric = db.default_metric(task)
            meta_X = db.meta_features(task)
            data[task] = (metric, bool(db.maximize(metric)), meta_X, db.scores(metric, task).loc[meta_X.index])
    print(f"{path.name}: {args.folds}-fold over datasets x {args.seeds} shuffles; predicted minus real score of the learners ranked 1-3")
    print("| task (metric) | rank | bias | mean abs error | median abs error | n |")
    print("|---|---|---|---|---|---|")
    for task, (metric, maximize, meta_X, scores) in data.items():
        start = time.perf_counter()
        table = errors(meta_X, scores, maximize, args.folds, args.seeds)
        for rank, group in table.groupby("rank"):
            error = group["predicted"] - group["real"]
            print(f"| {task} ({metric}) | {rank} | {error.mean():+.3f} | {error.abs().mean():.3f} | "
                  f"{error.abs().median():.3f} | {len(group)} |")
        print(f"<!-- {task}: {time.perf_counter() - start:.1f} s -->")


if __name__ == "__main__":
    run_script(main)
