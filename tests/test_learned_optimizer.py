"""The coordinatewise LSTM optimizer: size, meta-gradients, training effect, state and drop-in use."""

from __future__ import annotations

import io
import math

import pytest
import torch

from automl_meta.exceptions import ArtifactError, UsageError
from automl_meta.io.checkpoint import save_checkpoint
from automl_meta.neural.l2l_training import checkpoint_manifest, learned_trajectory, meta_train, unroll
from automl_meta.neural.learned_optimizer import LearnedOptimizer
from automl_meta.neural.lstm_optimizer import CoordinatewiseLSTM, log_and_sign, net_from_checkpoint
from automl_meta.neural.models import mlp
from automl_meta.neural.optimizees import make_tasks, optimizee_spec

torch.set_num_threads(1)

QUADRATIC = optimizee_spec("quadratic")


def _net(seed: int = 0, **kwargs) -> CoordinatewiseLSTM:
    return CoordinatewiseLSTM(**kwargs).reset_parameters(torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def trained_net() -> CoordinatewiseLSTM:
    """An LSTM meta-trained briefly on 40-step quadratics (a few seconds)."""
    net = _net(0)
    meta_train(net, QUADRATIC, epochs=12, steps=40, unroll_steps=10, tasks_per_epoch=64, meta_lr=3e-3, validate_every=4, validation_tasks=32, seed=0)
    return net


@pytest.fixture
def checkpoint(tmp_path, trained_net):
    manifest = checkpoint_manifest(trained_net, QUADRATIC, {"epochs": 12})
    return save_checkpoint(tmp_path / "opt.pt", trained_net.state_dict(), manifest)


def test_lstm_parameter_count_does_not_depend_on_optimizee_size():
    net = _net()
    n_weights = sum(p.numel() for p in net.parameters())
    # two LSTM cells (inputs 2 and 20, 20 units: 4 gates each) and a 20 -> 1 head
    assert n_weights == 4 * 20 * (2 + 20 + 2) + 4 * 20 * (20 + 20 + 2) + 21
    for n_coordinates in (3, 10, 50_000):
        update, (h, c) = net(torch.randn(n_coordinates), net.initial_state(n_coordinates))
        assert update.shape == (n_coordinates,)
        assert h.shape == c.shape == (2, n_coordinates, 20)
    assert sum(p.numel() for p in net.parameters()) == n_weights


def test_log_and_sign_follows_the_papers_two_cases():
    p = 10.0
    grad = torch.tensor([2.0, -1e-3, 1e-6, -1e-6, 0.0], dtype=torch.float64)
    features = log_and_sign(grad, p)
    assert features[0].tolist() == pytest.approx([math.log(2.0) / p, 1.0])
    assert features[1].tolist() == pytest.approx([math.log(1e-3) / p, -1.0])
    # |g| < exp(-p): (-1, exp(p) g)
    assert features[2].tolist() == pytest.approx([-1.0, math.exp(p) * 1e-6])
    assert features[3].tolist() == pytest.approx([-1.0, -math.exp(p) * 1e-6])
    assert features[4].tolist() == [-1.0, 0.0]


def test_raw_preprocessing_feeds_the_gradient_unchanged():
    net = _net(preprocessing="raw")
    grad = torch.randn(7)
    assert torch.equal(net.features(grad), grad.unsqueeze(-1))
    assert net.cells[0].input_size == 1


def test_output_scale_multiplies_the_update():
    small, large = _net(3, output_scale=0.1), _net(3, output_scale=1.0)
    grad = torch.randn(20)
    u_small, _ = small(grad, small.initial_state(20))
    u_large, _ = large(grad, large.initial_state(20))
    torch.testing.assert_close(u_large, 10 * u_small)


def _meta_loss(net, tasks, second_order):
    params = tasks.init_params()
    state = net.initial_state(sum(v.numel() for v in params.values()))
    loss, _, _ = unroll(net, tasks, params, state, 0, 4, second_order=second_order)
    return loss


def test_tbptt_meta_gradient_matches_finite_difference_in_float64():
    """With second derivatives on, the autograd meta-gradient is the exact derivative of the unrolled loss."""
    net = _net(1, hidden_size=4).double()
    tasks = make_tasks(optimizee_spec("quadratic", dim=3), 2, "train", seed=0, dtype=torch.float64)
    net.zero_grad()
    _meta_loss(net, tasks, second_order=True).backward()
    eps = 1e-6
    checked = 0
    for name, param in net.named_parameters():
        for index in [(0,) * param.dim(), tuple(s - 1 for s in param.shape)]:
            analytic = param.grad[index].item()
            with torch.no_grad():
                original = param[index].item()
                param[index] = original + eps
                plus = _meta_loss(net, tasks, True).item()
                param[index] = original - eps
                minus = _meta_loss(net, tasks, True).item()
                param[index] = original
            numeric = (plus - minus) / (2 * eps)
            assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-8), name
            checked += 1
    assert checked == 2 * len(list(net.parameters()))


def test_first_order_meta_gradient_reaches_every_lstm_weight():
    net = _net(2)
    tasks = make_tasks(QUADRATIC, 8, "train", seed=1)
    _meta_loss(net, tasks, second_order=False).backward()
    for name, param in net.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_first_order_drops_the_second_derivative_term():
    """The paper's approximation differs from the exact meta-gradient (on a quadratic the Hessian is 2 W'W)."""
    grads = []
    for second_order in (False, True):
        net = _net(2).double()
        tasks = make_tasks(QUADRATIC, 4, "train", seed=1, dtype=torch.float64)
        _meta_loss(net, tasks, second_order).backward()
        grads.append(net.head.weight.grad.clone())
    assert not torch.allclose(grads[0], grads[1])


def test_trained_optimizer_lowers_held_out_quadratics_faster_than_untrained(trained_net):
    held_out = make_tasks(QUADRATIC, 64, "test", seed=123)
    with torch.no_grad():
        trained = learned_trajectory(trained_net, held_out, 40)
        untrained = learned_trajectory(_net(0), held_out, 40)
    # faster: lower mean loss along the whole trajectory, and at the end
    assert trained[1:].mean() < 0.5 * untrained[1:].mean()
    assert trained[-1].mean() < 0.5 * untrained[-1].mean()
    assert trained[-1].mean() < 0.5 * trained[0].mean()


def test_meta_training_keeps_the_best_validated_weights(trained_net):
    net = _net(0)
    history = meta_train(net, QUADRATIC, epochs=4, steps=20, unroll_steps=10, tasks_per_epoch=16, validate_every=2, validation_tasks=8, seed=5)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    scores = [r["validation_loss"] for r in history if "validation_loss" in r]
    assert len(scores) == 2
    val_tasks = make_tasks(QUADRATIC, 8, "train", seed=5 + 1_000_003)
    with torch.no_grad():
        final = learned_trajectory(net, val_tasks, 20)[-1].mean().item()
    assert final == pytest.approx(min(scores), rel=1e-5)


def test_meta_training_hands_the_best_weights_so_far_to_on_validation():
    calls = []
    meta_train(_net(0), QUADRATIC, epochs=3, steps=10, unroll_steps=5, tasks_per_epoch=8, validate_every=1, validation_tasks=8, seed=2,
               on_validation=lambda state, records: calls.append(({k: v.clone() for k, v in state.items()}, [r["validation_loss"] for r in records])))
    assert [len(scores) for _, scores in calls] == [1, 2, 3]
    val_tasks = make_tasks(QUADRATIC, 8, "train", seed=2 + 1_000_003)
    for state, scores in calls:
        net = _net(1)
        net.load_state_dict(state)
        with torch.no_grad():
            assert learned_trajectory(net, val_tasks, 10)[-1].mean().item() == pytest.approx(min(scores), rel=1e-5)


def test_last_step_weighting_over_several_chunks_trains_and_logs_a_finite_meta_loss():
    net, before = _net(0), _net(0)
    history = meta_train(net, QUADRATIC, epochs=2, steps=6, unroll_steps=2, tasks_per_epoch=4, weighting="last", validate_every=0,
                         seed=1)
    assert all(record["meta_loss"] is not None and math.isfinite(record["meta_loss"]) for record in history)
    assert any(not torch.equal(a, b) for a, b in zip(net.state_dict().values(), before.state_dict().values()))


def test_meta_training_rejects_unknown_weighting():
    with pytest.raises(UsageError, match="weighting"):
        meta_train(_net(), QUADRATIC, epochs=1, steps=2, unroll_steps=1, tasks_per_epoch=1, weighting="exponential")


def _train_steps(model, optimizer, X, y, n):
    losses = []
    for _ in range(n):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X).squeeze(-1), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _regression_data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 5, generator=g)
    y = X @ torch.randn(5, generator=g) + 0.1 * torch.randn(64, generator=g)
    return X, y


def _small_mlp(seed=0):
    model = mlp(5, (8,), 1, "tanh")
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=g) - 0.5)
    return model


def test_state_dict_round_trip_reproduces_the_same_trajectory(checkpoint):
    X, y = _regression_data()
    model = _small_mlp()
    opt = LearnedOptimizer(model.parameters(), checkpoint=checkpoint)
    _train_steps(model, opt, X, y, 5)
    saved_model = {k: v.clone() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()  # like torch.optim's own state, state_dict() holds references: save it
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    saved_opt = torch.load(buffer, weights_only=True)
    reference = _train_steps(model, opt, X, y, 5)
    first = next(model.parameters())
    assert saved_opt["state"][0]["h"].shape == (2, first.numel(), 20)

    resumed = _small_mlp(seed=99)
    resumed.load_state_dict(saved_model)
    opt2 = LearnedOptimizer(resumed.parameters(), checkpoint=checkpoint)
    opt2.load_state_dict(saved_opt)
    assert _train_steps(resumed, opt2, X, y, 5) == reference
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)

    # without the saved LSTM state the trajectory differs: the state matters
    fresh = _small_mlp(seed=99)
    fresh.load_state_dict(saved_model)
    assert _train_steps(fresh, LearnedOptimizer(fresh.parameters(), checkpoint=checkpoint), X, y, 5) != reference


def test_learned_optimizer_works_as_drop_in_torch_optimizer(checkpoint):
    X, y = _regression_data()
    model = _small_mlp()
    opt = LearnedOptimizer(model.parameters(), checkpoint=checkpoint)
    assert isinstance(opt, torch.optim.Optimizer)
    assert opt.manifest["optimizee"]["family"] == "quadratic"
    losses = _train_steps(model, opt, X, y, 60)
    assert losses[-1] < 0.5 * losses[0]

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X).squeeze(-1), y)
        loss.backward()
        return loss

    before = [p.clone() for p in model.parameters()]
    returned = opt.step(closure)
    assert isinstance(returned, torch.Tensor) and returned.item() == pytest.approx(losses[-1], rel=0.5)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    # a learning-rate scheduler drives the update multiplier; lr 0 freezes the model
    torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.0)
    frozen = [p.clone() for p in model.parameters()]
    opt.step(closure)
    assert all(torch.equal(a, b) for a, b in zip(frozen, model.parameters()))


def test_learned_optimizer_handles_float64_parameters_and_missing_grads(trained_net):
    used = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    unused = torch.nn.Parameter(torch.ones(2))
    opt = LearnedOptimizer([used, unused], net=trained_net)
    (used**2).sum().backward()
    opt.step()
    assert used.dtype == torch.float64 and not torch.equal(used, torch.ones(3, dtype=torch.float64))
    assert torch.equal(unused, torch.ones(2)) and unused not in opt.state


def test_learned_optimizer_needs_exactly_one_source(trained_net):
    with pytest.raises(UsageError, match="exactly one"):
        LearnedOptimizer([torch.nn.Parameter(torch.ones(1))])


@pytest.mark.parametrize("lr", [-1.0, float("nan"), float("inf"), "1"])
def test_a_learning_rate_that_is_no_finite_non_negative_number_is_refused(trained_net, lr):
    with pytest.raises(UsageError, match="lr must be a non-negative finite number"):  # nan made every weight nan
        LearnedOptimizer([torch.nn.Parameter(torch.ones(1))], net=trained_net, lr=lr)


def test_checkpoint_of_another_kind_is_rejected(tmp_path, trained_net):
    path = save_checkpoint(tmp_path / "init.pt", trained_net.state_dict(), {"kind": "maml_init"})
    with pytest.raises(ArtifactError, match="learned_optimizer"):
        LearnedOptimizer([torch.nn.Parameter(torch.ones(1))], checkpoint=path)


def test_checkpoint_with_mismatched_manifest_is_rejected(trained_net):
    manifest = checkpoint_manifest(_net(hidden_size=8), QUADRATIC, {})
    with pytest.raises(ArtifactError, match="does not match"):
        net_from_checkpoint(trained_net.state_dict(), manifest)


def test_loading_a_learned_optimizer_leaves_torchs_global_stream_as_it_was(checkpoint):
    model = torch.nn.Linear(3, 1)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    LearnedOptimizer(model.parameters(), checkpoint=checkpoint)  # its LSTM's first weights came from the global stream
    assert torch.equal(torch.rand(3), expected)
