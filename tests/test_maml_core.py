"""Correctness of the functional MAML / FOMAML / Reptile core (tiny float64 models, CPU)."""

from __future__ import annotations

import pytest
import torch

from automl_meta.neural.conv4 import Conv4
from automl_meta.neural.functional import Functional, InnerLoop, adapt, maml_meta_gradient, reptile_targets
from automl_meta.neural.initializations import new_backbone
from automl_meta.neural.meta_learners import MAML, Reptile
from automl_meta.neural.meta_training import MetaTrainConfig, meta_train
from automl_meta.neural.models import mlp, mlp_architecture
from automl_meta.neural.per_task_loop import loop_meta_gradient, loop_meta_loss
from automl_meta.neural.task_sources import TaskBatch, make_task_source


def _regression_batch(n_tasks=3, shots=4, queries=5, seed=0) -> TaskBatch:
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    return TaskBatch(r(n_tasks, shots, 2), r(n_tasks, shots, 1), r(n_tasks, queries, 2), r(n_tasks, queries, 1))


def _image_batch(n_tasks=2, ways=3, shots=2, queries=2, seed=0) -> TaskBatch:
    g = torch.Generator().manual_seed(seed)
    xs = torch.rand(n_tasks, ways * shots, 28, 28, generator=g, dtype=torch.float64)
    xq = torch.rand(n_tasks, ways * queries, 28, 28, generator=g, dtype=torch.float64)
    ys = torch.arange(ways).repeat_interleave(shots).expand(n_tasks, -1)
    yq = torch.arange(ways).repeat_interleave(queries).expand(n_tasks, -1)
    return TaskBatch(xs, ys, xq, yq)


def _tiny_mlp(seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return mlp(2, (5,), 1, "tanh").double()


def _max_diff(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).detach().abs().max()) for k in a)


def test_maml_meta_gradient_matches_finite_differences():
    module = _tiny_mlp()
    maml = MAML(module, inner_lr=0.3, inner_steps=2, loss="mse")
    batch = _regression_batch()
    grads = maml_meta_gradient(maml.net, maml.inner, maml.params, batch)[0]

    def meta_loss(params):
        params = {k: v.requires_grad_() for k, v in params.items()}
        return loop_meta_loss(module, params, batch, 0.3, 2, False, "mse", "none").item()

    eps = 1e-6
    for name, p in maml.params.items():
        flat = p.detach().reshape(-1)
        for i in range(flat.numel()):
            plus = {k: v.detach().clone() for k, v in maml.params.items()}
            minus = {k: v.detach().clone() for k, v in maml.params.items()}
            plus[name].view(-1)[i] += eps
            minus[name].view(-1)[i] -= eps
            numeric = (meta_loss(plus) - meta_loss(minus)) / (2 * eps)
            assert grads[name].reshape(-1)[i].item() == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_meta_sgd_learning_rate_gradient_matches_finite_differences():
    maml = MAML(_tiny_mlp(), inner_lr=0.2, inner_steps=1, loss="mse", learn_inner_lr=True)
    batch = _regression_batch(seed=1)
    _, lr_grads, _, _ = maml_meta_gradient(maml.net, maml.inner, maml.params, batch, maml.inner_lrs)
    _, functional_lr_grads, _, _ = maml_meta_gradient(maml.net, maml.inner, maml.params, batch, maml.inner_lrs, functional_outer=True)
    assert _max_diff(lr_grads, functional_lr_grads) < 1e-12

    def meta_loss(lrs):
        losses = [
            torch.nn.functional.mse_loss(maml.net(adapt(maml.net, maml.params, xs, ys, maml.inner, lrs), xq), yq)
            for xs, ys, xq, yq in zip(*batch)
        ]
        return torch.stack(losses).mean().item()

    eps = 1e-6
    for name in ("0.weight", "2.bias"):
        plus = {k: v.detach().clone() for k, v in maml.inner_lrs.items()}
        minus = {k: v.detach().clone() for k, v in maml.inner_lrs.items()}
        plus[name].view(-1)[0] += eps
        minus[name].view(-1)[0] -= eps
        numeric = (meta_loss(plus) - meta_loss(minus)) / (2 * eps)
        assert lr_grads[name].reshape(-1)[0].item() == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_first_order_equals_second_order_with_detached_inner_gradients():
    module = _tiny_mlp(1)
    batch = _regression_batch(seed=2)
    fo = MAML(module, inner_lr=0.5, inner_steps=3, first_order=True, loss="mse")
    so = MAML(module, inner_lr=0.5, inner_steps=3, first_order=False, loss="mse")
    fo_grads = maml_meta_gradient(fo.net, fo.inner, fo.params, batch)[0]
    so_grads = maml_meta_gradient(so.net, so.inner, so.params, batch)[0]
    detached = loop_meta_gradient(module, fo.params, batch, 0.5, 3, True, "mse", "none")
    assert _max_diff(fo_grads, detached) < 1e-12
    assert _max_diff(fo_grads, so_grads) > 1e-4  # the second-order terms are really there


def test_reptile_outer_update_interpolates_toward_adapted_weights():
    module = _tiny_mlp(2)
    batch = _regression_batch(n_tasks=4, seed=3)
    reptile = Reptile(module, inner_lr=0.1, inner_steps=3, inner_optimizer="sgd", loss="mse")
    theta = {k: v.detach().clone() for k, v in reptile.params.items()}
    adapted = []
    for xs, ys, xq, yq in zip(*batch):
        phi = {k: v.clone().requires_grad_() for k, v in theta.items()}
        x, y = torch.cat([xs, xq]), torch.cat([ys, yq])
        for _ in range(3):
            loss = torch.nn.functional.mse_loss(torch.func.functional_call(module, phi, (x,)), y)
            grads = torch.autograd.grad(loss, list(phi.values()))
            phi = {k: (p - 0.1 * g).detach().requires_grad_() for (k, p), g in zip(phi.items(), grads)}
        adapted.append(phi)
    epsilon = 0.3
    optimizer = torch.optim.SGD(reptile.meta_parameters(), lr=epsilon)
    reptile.accumulate(batch)
    optimizer.step()
    for k in theta:
        mean_phi = torch.stack([a[k].detach() for a in adapted]).mean(0)
        expected = theta[k] + epsilon * (mean_phi - theta[k])
        torch.testing.assert_close(reptile.params[k].detach(), expected, rtol=1e-10, atol=1e-12)


def test_reptile_inner_adam_moves_weights_toward_each_task():
    reptile = Reptile(_tiny_mlp(3), inner_lr=0.05, inner_steps=5, inner_optimizer="adam", loss="mse")
    batch = _regression_batch(n_tasks=2, seed=4)
    before = reptile.evaluate(batch, steps=0).mean()
    after = reptile.evaluate(batch, steps=5).mean()
    assert after < before  # MSE after 5 Adam steps on the support set is lower on these easy tasks


@pytest.mark.parametrize("bn_mode", ["transductive", "support"])
@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("functional_outer", [False, True])
def test_vmapped_meta_batch_equals_per_task_loop(bn_mode, first_order, functional_outer):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = Conv4(3, filters=4).double()
    maml = MAML(module, inner_lr=0.4, inner_steps=2, first_order=first_order, bn_mode=bn_mode)
    batch = _image_batch()
    grads, _, loss, _ = maml_meta_gradient(maml.net, maml.inner, maml.params, batch, functional_outer=functional_outer)
    reference = loop_meta_gradient(module, maml.params, batch, 0.4, 2, first_order, "cross_entropy", bn_mode)
    assert _max_diff(grads, reference) < 1e-10
    assert loss.item() == pytest.approx(loop_meta_loss(module, maml.params, batch, 0.4, 2, first_order, "cross_entropy", bn_mode).item())


def test_support_bn_mode_makes_query_predictions_independent_of_other_queries():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = Conv4(3, filters=4).double()
    batch = _image_batch(n_tasks=1, queries=3)
    xs, xq = batch.xs[0], batch.xq[0]
    for mode, independent in (("support", True), ("transductive", False)):
        net = Functional(module, "cross_entropy", mode)
        params = dict(module.named_parameters())
        full = net.query_output(params, xs, xq)[:1]
        alone = net.query_output(params, xs, xq[:2])[:1]
        assert torch.allclose(full, alone) is independent


def test_meta_training_with_same_seed_gives_same_weights():
    splits = make_task_source("sinusoid", shots=5, queries=5)
    config = MetaTrainConfig(iterations=4, meta_batch=3, validate_every=2, validation_tasks=6, seed=11, log_every=2)

    def run(seed_model, config):
        learner = MAML(new_backbone(splits.architecture, seed_model), inner_lr=0.01, loss="mse")
        result = meta_train(learner, splits, config)
        return learner.state_dict(), result

    first, r1 = run(0, config)
    second, r2 = run(0, config)
    other, _ = run(0, MetaTrainConfig(**{**config.__dict__, "seed": 12}))
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert r1.validation == [{**v, "seconds": r1.validation[i]["seconds"]} for i, v in enumerate(r2.validation)]
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_meta_training_with_validate_every_zero_validates_once_at_the_end():
    splits = make_task_source("sinusoid", shots=2, queries=2)
    learner = MAML(new_backbone(splits.architecture, 0), inner_lr=0.01, loss="mse")
    events = []
    result = meta_train(learner, splits, MetaTrainConfig(iterations=3, meta_batch=2, validate_every=0, validation_tasks=4), events.append)
    assert [v["iteration"] for v in result.validation] == [3]
    assert [e["iteration"] for e in events if e["event"] == "validation"] == [3]
    off = meta_train(learner, splits, MetaTrainConfig(iterations=2, meta_batch=2, validate_every=1, validation_tasks=0))
    assert off.validation == []


def test_init_state_dict_keys_are_those_of_the_shared_mlp_builder():
    splits = make_task_source("sinusoid")
    learner = MAML(new_backbone(splits.architecture, 0), loss="mse")
    assert splits.architecture == mlp_architecture(1, (40, 40), 1, "relu")
    assert list(learner.state_dict()) == list(mlp(1, (40, 40), 1).state_dict())


def test_maml_learns_sinusoid_better_than_its_random_start():
    splits = make_task_source("sinusoid", shots=5, queries=10)
    learner = MAML(new_backbone(splits.architecture, 0), inner_lr=0.01, loss="mse")
    generator = torch.Generator().manual_seed(5)
    test = splits.test.sample(50, generator)
    before = learner.evaluate(test).mean().item()
    meta_train(learner, splits, MetaTrainConfig(iterations=150, meta_batch=10, meta_lr=3e-3, validation_tasks=0, seed=1))
    after = learner.evaluate(test).mean().item()
    assert after < 0.8 * before


def test_inner_loop_rejects_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown inner optimizer"):
        InnerLoop(optimizer="rmsprop")


def test_reptile_outer_step_is_annealed_linearly_during_meta_training():
    splits = make_task_source("sinusoid", shots=4, queries=4)
    module = new_backbone(splits.architecture, 0)
    reptile = Reptile(module, inner_lr=0.01, inner_steps=2, inner_optimizer="sgd", loss="mse")
    theta = {k: v.detach().clone() for k, v in reptile.params.items()}
    generator = torch.Generator().manual_seed(3)
    b1, b2 = splits.train.sample(5, generator), splits.train.sample(5, generator)
    theta1 = reptile_targets(reptile.net, reptile.inner, theta, b1)  # step 1.0 at the start: jump to the mean
    target2 = reptile_targets(reptile.net, reptile.inner, theta1, b2)
    expected = {k: theta1[k] + 0.5 * (target2[k] - theta1[k]) for k in theta}  # step 0.5 halfway
    meta_train(reptile, splits, MetaTrainConfig(iterations=2, meta_batch=5, outer_step=1.0, validation_tasks=0, seed=3))
    for k in theta:
        torch.testing.assert_close(reptile.params[k].detach(), expected[k], rtol=1e-5, atol=1e-6)


def test_compiled_meta_step_writes_the_eager_gradients():
    # torch.compile (what --compile and the GPU benchmarks use) must compute the same meta-gradient.
    batch = _regression_batch(n_tasks=3, seed=4)
    for make in (
        lambda c: MAML(_tiny_mlp(5), inner_lr=0.2, inner_steps=2, loss="mse", compile=c),
        # inner minibatches and carried Adam moments
        lambda c: Reptile(_tiny_mlp(5), inner_lr=0.05, inner_steps=2, inner_optimizer="adam", loss="mse", compile=c, inner_batch=4),
    ):
        eager, compiled = make(False), make("default")
        for learner in (eager, compiled):
            learner.accumulate(batch)  # a first step, so that a carried state is not fresh in the second
        stats = [learner.accumulate(batch) for learner in (eager, compiled)]
        assert _max_diff({k: p.grad for k, p in eager.params.items()}, {k: p.grad for k, p in compiled.params.items()}) < 1e-9
        torch.testing.assert_close(stats[0]["loss"], stats[1]["loss"], equal_nan=True)
    with pytest.raises(ValueError, match="compile mode"):
        MAML(_tiny_mlp(), compile="fastest")


def test_inner_batches_take_consecutive_rows_in_turn():
    module = _tiny_mlp(6)
    net = Functional(module, "mse", "none")
    x, y = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, 1, dtype=torch.float64)
    params = {k: v.detach() for k, v in module.named_parameters()}
    got = adapt(net, params, x, y, InnerLoop(steps=4, lr=0.1, first_order=True, batch_size=4))
    expected = dict(params)
    for rows in ([0, 1, 2, 3], [4, 5, 0, 1], [2, 3, 4, 5], [0, 1, 2, 3]):  # wraps around the 6 rows
        g = torch.func.grad(net.support_loss)(expected, x[rows], y[rows])
        expected = {k: p - 0.1 * g[k] for k, p in expected.items()}
    assert _max_diff(got, expected) < 1e-12
    with pytest.raises(ValueError, match="batch size"):
        InnerLoop(batch_size=0)


def test_reptile_inner_batches_shuffle_rows_with_their_targets():
    batch = _regression_batch(n_tasks=3, shots=4, queries=5, seed=7)
    make = lambda b: Reptile(_tiny_mlp(8), inner_lr=0.1, inner_steps=3, inner_optimizer="sgd", loss="mse", inner_batch=b, seed=3)  # noqa: E731
    full, pooled = make(None), make(9)  # 9 = every row: the shuffle must not change the full-batch gradient
    for learner in (full, pooled):
        learner.accumulate(batch)
    assert _max_diff({k: p.grad for k, p in full.params.items()}, {k: p.grad for k, p in pooled.params.items()}) < 1e-12
    small = make(3)
    small.accumulate(batch)
    order = torch.rand(3, 9, generator=torch.Generator().manual_seed(3)).argsort(dim=1)
    x, y = torch.cat([batch.xs, batch.xq], 1), torch.cat([batch.ys, batch.yq], 1)
    net, theta = small.net, {k: v.detach() for k, v in small.params.items()}
    targets = []
    for t in range(3):
        phi = dict(theta)
        for step in range(3):
            rows = order[t, 3 * step : 3 * step + 3]
            g = torch.func.grad(net.support_loss)(phi, x[t, rows], y[t, rows])
            phi = {k: p - 0.1 * g[k] for k, p in phi.items()}
        targets.append(phi)
    expected = {k: theta[k] - torch.stack([p[k] for p in targets]).mean(0) for k in theta}
    assert _max_diff({k: p.grad for k, p in small.params.items()}, expected) < 1e-12
    assert _max_diff(expected, {k: p.grad for k, p in full.params.items()}) > 1e-6  # minibatches changed the path


def test_reptile_evaluation_adapts_on_the_whole_support_set():
    batch = _regression_batch(n_tasks=2, shots=6, queries=3, seed=9)
    pooled = Reptile(_tiny_mlp(4), inner_lr=0.1, inner_steps=3, inner_optimizer="sgd", loss="mse", inner_batch=2)
    plain = Reptile(_tiny_mlp(4), inner_lr=0.1, inner_steps=3, inner_optimizer="sgd", loss="mse")
    torch.testing.assert_close(pooled.evaluate(batch), plain.evaluate(batch), rtol=0, atol=0)
    assert pooled.clone().inner.batch_size is None


def _manual_adam(net, params, x, y, steps, lr, v, t0, beta2=0.999, eps=1e-8):
    """Adam with beta1 = 0 starting from second moment ``v`` after ``t0`` earlier steps (the reference)."""
    for t in range(1, steps + 1):
        g = torch.func.grad(net.support_loss)(params, x, y)
        v = {k: beta2 * v[k] + (1 - beta2) * g[k] ** 2 for k in params}
        c2 = 1 - beta2 ** (t0 + t)
        params = {k: p - lr * g[k] / ((v[k] / c2).sqrt() + eps) for k, p in params.items()}
    return params, v


def test_reptile_carries_the_inner_adam_moments_across_iterations():
    batches = [_regression_batch(n_tasks=2, seed=s) for s in (11, 12)]
    reptile = Reptile(_tiny_mlp(9), inner_lr=0.05, inner_steps=2, inner_optimizer="adam", loss="mse")
    fresh = Reptile(_tiny_mlp(9), inner_lr=0.05, inner_steps=2, inner_optimizer="adam", loss="mse", persistent_adam=False)
    net, theta = reptile.net, {k: v.detach().clone() for k, v in reptile.params.items()}
    v, t0 = {k: torch.zeros_like(p) for k, p in theta.items()}, 0
    for batch in batches:
        reptile.accumulate(batch)
        fresh.accumulate(batch)
        runs = [_manual_adam(net, theta, torch.cat([xs, xq]), torch.cat([ys, yq]), 2, 0.05, v, t0) for xs, ys, xq, yq in zip(*batch)]
        expected = {k: theta[k] - torch.stack([phi[k] for phi, _ in runs]).mean(0) for k in theta}
        assert _max_diff({k: p.grad for k, p in reptile.params.items()}, expected) < 1e-10
        v, t0 = {k: torch.stack([vk[k] for _, vk in runs]).mean(0) for k in theta}, t0 + 2  # the tasks' moments, averaged
        assert float(reptile.adam_state["t"]) == t0
    # the first iteration starts from fresh moments either way; the second differs
    assert _max_diff({k: p.grad for k, p in reptile.params.items()}, {k: p.grad for k, p in fresh.params.items()}) > 1e-6


def test_reptile_evaluates_and_clones_from_the_carried_inner_adam_moments():
    reptile = Reptile(_tiny_mlp(5), inner_lr=0.05, inner_steps=2, inner_optimizer="adam", loss="mse")
    for seed in (21, 22):
        reptile.accumulate(_regression_batch(n_tasks=2, seed=seed))
    state = reptile.adam_state
    theta = {k: v.detach().clone() for k, v in reptile.params.items()}
    batch = _regression_batch(n_tasks=2, shots=4, queries=5, seed=23)
    # the reference: each task's two Adam steps on its support set, from the carried moments
    expected = []
    for xs, ys, xq, yq in zip(*batch):
        phi, _ = _manual_adam(reptile.net, theta, xs, ys, 2, 0.05, state["v"], float(state["t"]))
        expected.append(torch.nn.functional.mse_loss(reptile.net(phi, xq), yq))
    torch.testing.assert_close(reptile.evaluate(batch), torch.stack(expected), rtol=0, atol=1e-12)

    fresh = Reptile(_tiny_mlp(5), inner_lr=0.05, inner_steps=2, inner_optimizer="adam", loss="mse", persistent_adam=False)
    assert float((fresh.evaluate(batch) - reptile.evaluate(batch)).abs().max()) > 1e-6  # the moments matter

    xs, ys, xq, yq = (t[0] for t in batch)
    learner = reptile.clone().adapt(xs, ys)
    torch.testing.assert_close(torch.nn.functional.mse_loss(learner(xq), yq), expected[0], rtol=0, atol=1e-12)
    assert float(learner.state["t"]) == float(state["t"]) + 2
    assert float(reptile.adam_state["t"]) == float(state["t"])  # adapting a clone leaves the meta-learner's moments alone


def test_reptile_state_dict_keeps_the_carried_moments():
    reptile = Reptile(_tiny_mlp(6), inner_lr=0.05, inner_steps=3, inner_optimizer="adam", loss="mse")
    reptile.accumulate(_regression_batch(n_tasks=2, seed=31))
    state = reptile.state_dict()
    assert float(state["adam.t"]) == 3.0 and {f"adam.v.{k}" for k in reptile.params} <= set(state)
    batch = _regression_batch(n_tasks=3, seed=32)
    loaded = Reptile(_tiny_mlp(0), inner_lr=0.05, inner_steps=3, inner_optimizer="adam", loss="mse").load_state_dict(state)
    torch.testing.assert_close(loaded.evaluate(batch), reptile.evaluate(batch), rtol=0, atol=0)
    # asked for fresh moments, a learner ignores the saved ones; MAML has none to take
    ignored = Reptile(_tiny_mlp(0), inner_lr=0.05, inner_steps=3, inner_optimizer="adam", loss="mse", persistent_adam=False)
    assert ignored.load_state_dict(state).state_dict().keys() == reptile.params.keys()
    with pytest.raises(KeyError, match="adam"):
        MAML(_tiny_mlp(0), loss="mse").load_state_dict(state)


def test_training_history_has_no_score_where_the_loss_is_not_finite():
    """NaN weights give NaN logits, read as class 0: chance accuracy, which must not be logged as a score."""
    import numpy as np
    import pandas as pd

    from automl_meta.dataset import make_dataset

    rng = np.random.default_rng(0)
    labels = np.repeat([f"c{i}" for i in range(12)], 20)
    frame = pd.DataFrame(rng.normal(size=(len(labels), 3)) + np.repeat(rng.normal(size=(12, 3)) * 3, 20, axis=0), columns=list("abc"))
    frame["label"] = labels
    splits = make_task_source("tabular", make_dataset(frame, target="label", task="classification"), ways=3, shots=2, queries=4)
    learner = MAML(new_backbone(splits.architecture, 0), inner_lr=0.1)

    def poison(event):
        if event["event"] == "iteration" and event["iteration"] == 3:
            with torch.no_grad():
                for p in learner.params.values():
                    p.fill_(float("nan"))

    config = MetaTrainConfig(iterations=20, meta_batch=2, validate_every=0, validation_tasks=0, log_every=2)
    result = meta_train(learner, splits, config, poison)
    assert [h["iteration"] for h in result.history] == [2, 4]  # iteration 4's loss is NaN, so its log point's mean too
    assert result.history[0]["loss"] is not None and 0 <= result.history[0]["score"] <= 1
    assert result.history[1]["loss"] is None and result.history[1]["score"] is None
    assert result.iterations == 4  # it stopped at the first log point with weights that are not finite, not at 20
