"""The coordinatewise LSTM of "Learning to learn by gradient descent by gradient descent".

Andrychowicz et al. (2016) replace a hand-designed update rule with a small
recurrent network ``m`` that reads the gradient of one coordinate and writes its
update: ``theta_{t+1} = theta_t + g_t`` with ``(g_t, h_{t+1}) = m(grad_t, h_t; phi)``.
The same two-layer LSTM is applied to every coordinate independently (its hidden
state is per coordinate, its weights are shared), so the number of learned
parameters ``phi`` does not depend on the size of the optimizee.

Gradient preprocessing follows the paper's appendix A ("LogAndSign"): a gradient
``g`` becomes the pair ``(log|g| / p, sign g)`` when ``|g| >= exp(-p)`` and
``(-1, exp(p) g)`` otherwise, which puts gradients of any magnitude on a scale an
LSTM can read. ``"raw"`` feeds ``g`` unchanged. The LSTM's linear head is
multiplied by ``output_scale`` (0.1 in the paper).
"""

from __future__ import annotations

import math

import torch
from torch import nn

PREPROCESSINGS = ("log_and_sign", "raw")


def log_and_sign(grad: torch.Tensor, p: float = 10.0) -> torch.Tensor:
    """Andrychowicz et al. App. A: map a flat gradient ``(n,)`` to features ``(n, 2)``."""
    magnitude = grad.abs()
    large = magnitude >= math.exp(-p)
    # clamp keeps log finite where the branch is not taken (torch.where evaluates both)
    log_part = torch.where(large, torch.log(magnitude.clamp_min(math.exp(-p))) / p, torch.full_like(grad, -1.0))
    sign_part = torch.where(large, torch.sign(grad), grad * math.exp(p))
    return torch.stack([log_part, sign_part], dim=-1)


class CoordinatewiseLSTM(nn.Module):
    """A stack of LSTM cells applied to every coordinate of a flat gradient.

    Parameters
    ----------
    hidden_size : int, default 20
        Units in each LSTM layer.
    num_layers : int, default 2
        Stacked LSTM cells.
    preprocessing : {"log_and_sign", "raw"}, default "log_and_sign"
        How a gradient coordinate is turned into the LSTM's input.
    p : float, default 10.0
        The LogAndSign constant (ignored for ``"raw"``).
    output_scale : float, default 0.1
        The update is ``output_scale * head(h)``.

    Notes
    -----
    The recurrent state for ``n`` coordinates is a pair ``(h, c)`` of tensors of
    shape ``(num_layers, n, hidden_size)``; :meth:`initial_state` makes the zero
    state. Coordinates never interact, so the state of a concatenation of
    gradients is the concatenation of their states.
    """

    def __init__(
        self,
        hidden_size: int = 20,
        num_layers: int = 2,
        preprocessing: str = "log_and_sign",
        p: float = 10.0,
        output_scale: float = 0.1,
    ):
        super().__init__()
        if preprocessing not in PREPROCESSINGS:
            raise ValueError(f"unknown preprocessing {preprocessing!r}; choose from {list(PREPROCESSINGS)}")
        if hidden_size < 1 or num_layers < 1:
            raise ValueError("hidden_size and num_layers must be positive")
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.preprocessing = preprocessing
        self.p = float(p)
        self.output_scale = float(output_scale)
        in_features = 2 if preprocessing == "log_and_sign" else 1
        sizes = [in_features] + [self.hidden_size] * (self.num_layers - 1)
        self.cells = nn.ModuleList(nn.LSTMCell(size, self.hidden_size) for size in sizes)
        self.head = nn.Linear(self.hidden_size, 1)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> "CoordinatewiseLSTM":
        """Redraw every weight from U(-1/sqrt(hidden), 1/sqrt(hidden)) (PyTorch's LSTM default) using ``generator``."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            draw = torch.rand(param.shape, generator=generator, dtype=param.dtype, device="cpu")
            param.copy_((draw * 2 - 1) * bound)
        return self

    def config(self) -> dict:
        """The constructor arguments, as recorded in checkpoint manifests."""
        return {
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "preprocessing": self.preprocessing,
            "p": self.p,
            "output_scale": self.output_scale,
        }

    def initial_state(self, n: int, dtype: torch.dtype | None = None, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero ``(h, c)`` for ``n`` coordinates."""
        weight = self.head.weight
        shape = (self.num_layers, n, self.hidden_size)
        dtype = dtype or weight.dtype
        device = device or weight.device
        return torch.zeros(shape, dtype=dtype, device=device), torch.zeros(shape, dtype=dtype, device=device)

    def features(self, grad: torch.Tensor) -> torch.Tensor:
        """The LSTM input ``(n, in_features)`` for a flat gradient ``(n,)``."""
        if self.preprocessing == "log_and_sign":
            return log_and_sign(grad, self.p)
        return grad.unsqueeze(-1)

    def forward(
        self, grad: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Return the update ``(n,)`` for a flat gradient ``(n,)`` and the next state."""
        h_prev, c_prev = state
        x = self.features(grad)
        hs, cs = [], []
        for layer, cell in enumerate(self.cells):
            h, c = cell(x, (h_prev[layer], c_prev[layer]))
            hs.append(h)
            cs.append(c)
            x = h
        update = self.head(x).squeeze(-1) * self.output_scale
        return update, (torch.stack(hs), torch.stack(cs))


def net_from_checkpoint(state_dict: dict, manifest: dict) -> CoordinatewiseLSTM:
    """Rebuild a :class:`CoordinatewiseLSTM` from a checkpoint's tensors and manifest."""
    from automl_meta.exceptions import ArtifactError

    config = manifest.get("net")
    if not isinstance(config, dict):
        raise ArtifactError("learned-optimizer checkpoint has no 'net' entry in its manifest; retrain it with `automl-meta optimizer train`")
    try:
        with torch.random.fork_rng(devices=[]):  # its layers' random first weights, replaced at once: not from the caller's stream
            net = CoordinatewiseLSTM(**config)
        net.load_state_dict(state_dict)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ArtifactError(f"learned-optimizer checkpoint does not match its manifest ({exc}); retrain it") from None
    return net
