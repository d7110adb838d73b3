"""Sinusoid regression, K=5: MSE after 1 and 10 inner steps (MAML paper, appendix C).

Paper (70k meta-iterations): MAML 0.67 / 0.35, pretraining baseline 2.41 / 2.19.
Goal here: <= 0.6 / 0.3 on CPU within about two minutes.

    python benchmarks/sinusoid.py [--seconds 90] [--json]

MAML as in the paper (MLP 40-40 ReLU, one inner SGD step at 0.01, meta-batch
25, K=5 support points) with two cheap changes to the outer loop: 25 query
points per training task instead of 5, and Adam at 3e-3 annealed to 0 with a
cosine over the time budget. Evaluation: 600 test tasks with 5 support points and
100 query points each, adapting with SGD at the training inner learning rate
(or the learned Meta-SGD rates with ``metasgd:LR``).

The budgets are wall-clock seconds (the cosine follows elapsed time, and the
pretrained baseline trains for ``min(--seconds, 20)`` s), so the same ``--seed``
gives the same figures only where the machine runs as fast: a row reproduces to
about the second decimal, not to every digit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import torch

from automl_meta.neural.few_shot import evaluate_learner
from automl_meta.neural.initializations import new_backbone
from automl_meta.neural.meta_learners import MAML
from automl_meta.neural.meta_training import MetaTrainConfig, meta_train
from automl_meta.neural.task_sources import SinusoidSampler, make_task_source
from machine import describe  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script

PAPER = {"maml": (0.67, 0.35), "pretrained": (2.41, 2.19)}


def pretrained_baseline(splits, seconds: float, seed: int, lr: float) -> MAML:
    """Train one network on points of many tasks at once (the paper's pretraining baseline)."""
    learner = MAML(new_backbone(splits.architecture, seed), inner_lr=lr, loss="mse")
    optimizer = torch.optim.Adam(learner.meta_parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        batch = splits.train.sample(25, generator)
        x = torch.cat([batch.xs, batch.xq], 1).reshape(-1, 1)
        y = torch.cat([batch.ys, batch.yq], 1).reshape(-1, 1)
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(learner.net(learner.params, x), y)
        loss.backward()
        optimizer.step()
    return learner


def figures(learner, sampler, seed: int) -> dict:
    out = {}
    for steps in (1, 10):
        res = evaluate_learner(learner, sampler, tasks=600, steps=steps, batch_size=100, seed=seed)
        out[f"mse_{steps}"] = round(res["mean"], 3)
        out[f"ci95_{steps}"] = round(res["ci95"], 3)
    return out


def _positive(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="training budget of each meta-learned configuration")
    parser.add_argument("--iterations", type=at_least(1), default=70000)
    parser.add_argument("--configs", default="maml:0.01", help="comma list of ALGO:INNER_LR with ALGO maml or metasgd")
    parser.add_argument("--meta-lr", type=float, default=3e-3)
    parser.add_argument("--meta-batch", type=at_least(1), default=25)
    parser.add_argument("--queries", type=at_least(1), default=25, help="query points per training task")
    parser.add_argument("--inner-steps", type=at_least(0), default=1)
    parser.add_argument("--constant-lr", dest="cosine", action="store_false", help="keep the meta learning rate constant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    configs = [name.split(":") for name in args.configs.split(",")]
    for parts in configs:
        if len(parts) != 2 or parts[0] not in ("maml", "metasgd") or not _positive(parts[1]):
            parser.error(f"--configs: {':'.join(parts)!r} is not ALGO:INNER_LR with ALGO maml or metasgd and INNER_LR > 0")
    torch.set_num_threads(1)  # a tiny MLP: one thread is fastest on a shared machine
    splits = make_task_source("sinusoid", shots=5, queries=args.queries)
    test = SinusoidSampler(5, 100)
    rows = []
    for algo, inner_lr in configs:
        name = f"{algo}:{inner_lr}"
        learner = MAML(new_backbone(splits.architecture, args.seed), inner_lr=float(inner_lr), inner_steps=args.inner_steps, loss="mse", learn_inner_lr=algo == "metasgd")
        config = MetaTrainConfig(
            iterations=args.iterations, meta_batch=args.meta_batch, meta_lr=args.meta_lr, validation_tasks=0, seed=args.seed,
            time_limit=args.seconds, log_every=100, cosine=args.cosine,
        )
        start = time.perf_counter()
        result = meta_train(learner, splits, config)
        rows.append({"config": name, "iterations": result.iterations, "train_s": round(time.perf_counter() - start, 1), **figures(learner, test, args.seed + 7)})
        print(f"{name}: {rows[-1]}", file=sys.stderr)
    start = time.perf_counter()
    baseline = pretrained_baseline(splits, min(args.seconds, 20.0), args.seed, lr=0.01)
    rows.append({"config": "pretrained", "iterations": None, "train_s": round(time.perf_counter() - start, 1), **figures(baseline, test, args.seed + 7)})
    if args.json:
        print(json.dumps({"machine": describe(), "rows": rows, "paper": PAPER}, indent=2))
    else:
        print(f"# machine: {describe()}")
        print(f"{'config':<13} {'iters':>6} {'train s':>7}  {'MSE 1 step':>16}  {'MSE 10 steps':>16}")
        for r in rows:
            it = "-" if r["iterations"] is None else r["iterations"]
            print(f"{r['config']:<13} {it:>6} {r['train_s']:>7}  {r['mse_1']:>8.3f} +- {r['ci95_1']:.3f}  {r['mse_10']:>8.3f} +- {r['ci95_10']:.3f}")
        print("paper (70k its): MAML 0.67 / 0.35, pretrained 2.41 / 2.19; goal <= 0.6 / 0.3")
    return 0


if __name__ == "__main__":
    run_script(main)
