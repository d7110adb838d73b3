"""Meta-iterations per second: our vmapped torch.func core against a learn2learn-style per-task loop.

    python benchmarks/maml_throughput.py [--device cpu|cuda] [--model conv4|mlp] [--meta-batch 32] [--ways 5] [--shots 1]
                                         [--inner-steps 1] [--first-order] [--compile [MODE]] [--seconds 20] [--json]

Both sides train the same conv4 (64 filters, transductive BatchNorm) on the same
5-way 1-shot episodes (15 queries per class, synthetic 28x28 images drawn on
the device) with one Adam step per meta-iteration; the baseline clones the
weights and adapts each task in a Python loop with
``torch.autograd.grad(create_graph=True)`` (see
:mod:`automl_meta.neural.per_task_loop`). Each side warms up, then runs for
``--seconds`` (at least 3 iterations); the ratio is the speed-up.
``--compile MODE`` (repeatable; modes as in
:data:`automl_meta.neural.meta_learners.COMPILE_MODES`) also times the
``torch.compile``'d core; a mode that fails is reported and skipped.
``--model mlp`` times the sinusoid setup instead (MLP 40-40, K=5 support and
25 query points, inner step 0.01), where per-operation overhead dominates.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from automl_meta.neural.initializations import new_backbone
from automl_meta.neural.meta_learners import COMPILE_MODES, MAML
from automl_meta.neural.per_task_loop import loop_meta_loss
from automl_meta.neural.task_sources import ClassPoolSampler, SinusoidSampler, _ink
from machine import describe  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(step, device, seconds: float, warmup: int) -> tuple[float, int]:
    for _ in range(warmup):
        step()
    _sync(device)
    start, n = time.perf_counter(), 0
    while n < 3 or time.perf_counter() - start < seconds:
        step()
        n += 1
        if n % 5 == 0:
            _sync(device)
    _sync(device)
    return n / (time.perf_counter() - start), n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--model", default="conv4", choices=["conv4", "mlp"])
    parser.add_argument("--meta-batch", type=at_least(1), default=32)
    parser.add_argument("--ways", type=at_least(2), default=5)
    parser.add_argument("--shots", type=at_least(1), default=1)
    parser.add_argument("--queries", type=at_least(1), default=15)
    parser.add_argument("--inner-steps", type=at_least(1), default=1)
    parser.add_argument("--inner-lr", type=float, default=0.4)
    parser.add_argument("--first-order", action="store_true")
    parser.add_argument("--compile", nargs="?", const="default", action="append", choices=COMPILE_MODES,
                        help="also time the torch.compile'd core in this mode (repeatable; default mode 'default')")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per side")
    parser.add_argument("--threads", type=at_least(1), default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", action="store_true")
    given = set(argv if argv is not None else sys.argv[1:])
    args = parser.parse_args(argv)
    fixed = sorted(o for o in ("--ways", "--shots", "--queries", "--inner-lr") if o in given or any(a.startswith(o + "=") for a in given))
    if args.model == "mlp" and fixed:  # the sinusoid MLP runs the paper's setting: 1 output, 5 shots, 25 queries, inner lr 0.01
        parser.error(f"--model mlp runs the sinusoid setting of the MAML paper; drop {', '.join(fixed)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here; use --device cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    generator = torch.Generator(device=device).manual_seed(0)
    pool = torch.randint(0, 256, (200, 20, 28, 28), dtype=torch.uint8, generator=generator, device=device)
    sampler = ClassPoolSampler(pool, torch.full((200,), 20), args.ways, args.shots, args.queries, transform=_ink)
    architecture = {"kind": "conv4", "out_features": args.ways, "in_channels": 1, "filters": 64, "image_size": 28}
    loss, bn_mode = "cross_entropy", "transductive"
    if args.model == "mlp":
        sampler = SinusoidSampler(5, 25, device)
        architecture = {"kind": "mlp", "in_features": 1, "hidden": [40, 40], "out_features": 1, "activation": "relu"}
        loss, bn_mode, args.inner_lr, args.ways, args.shots, args.queries = "mse", "none", 0.01, 1, 5, 25
    rows = {}

    def ours(compile_):
        maml = MAML(new_backbone(architecture, 0), inner_lr=args.inner_lr, inner_steps=args.inner_steps,
                    first_order=args.first_order, loss=loss, bn_mode=bn_mode, compile=compile_).to(device)
        optimizer = torch.optim.Adam(maml.meta_parameters(), lr=1e-3)

        def step():
            optimizer.zero_grad(set_to_none=True)
            maml.accumulate(sampler.sample(args.meta_batch, generator))
            optimizer.step()

        return step

    def loop():
        module = new_backbone(architecture, 0).to(device)
        params = {k: v.detach().clone().requires_grad_() for k, v in module.named_parameters()}
        optimizer = torch.optim.Adam(list(params.values()), lr=1e-3)

        def step():
            optimizer.zero_grad(set_to_none=True)
            batch = sampler.sample(args.meta_batch, generator)
            value = loop_meta_loss(module, params, batch, args.inner_lr, args.inner_steps, args.first_order, loss, bn_mode)
            value.backward()
            optimizer.step()

        return step

    rows["per_task_loop"] = _timed(loop(), device, args.seconds, warmup=2)
    rows["vmap"] = _timed(ours(False), device, args.seconds, warmup=2)
    failed = {}
    for mode in args.compile or []:
        key = "vmap_compiled" if mode == "default" else f"vmap_compiled_{mode}"
        try:
            rows[key] = _timed(ours(mode), device, args.seconds, warmup=5)
        except Exception as exc:  # a compile mode this stack cannot run: say so, time the others
            failed[key] = f"{type(exc).__name__}: {str(exc)[:300]}"
            print(f"{key} failed: {failed[key]}", file=sys.stderr)
    base = rows["per_task_loop"][0]
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    result = {
        "machine": describe(),
        "device": card,
        "model": args.model,
        "algorithm": "fomaml" if args.first_order else "maml",
        "ways": args.ways,
        "shots": args.shots,
        "queries": args.queries,
        "meta_batch": args.meta_batch,
        "inner_steps": args.inner_steps,
        "it_per_s": {k: round(v[0], 3) for k, v in rows.items()},
        "iterations_timed": {k: v[1] for k, v in rows.items()},
        "speedup": {k: round(v[0] / base, 2) for k, v in rows.items() if k != "per_task_loop"},
        "failed": failed,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"# machine: {result['machine']}")
        print(f"{args.model} {result['algorithm']} {args.ways}-way {args.shots}-shot, meta-batch {args.meta_batch}, {args.inner_steps} inner step(s), on {card}")
        for k, (speed, n) in rows.items():
            extra = "" if k == "per_task_loop" else f"  ({speed / base:.2f}x)"
            print(f"  {k:<15} {speed:8.3f} meta-it/s over {n} its{extra}")
    return 0


if __name__ == "__main__":
    run_script(main)
