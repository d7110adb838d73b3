"""Network builders shared by the MLP candidate, the meta-learners and the learned optimizer.

Keeping one builder means a learned initialization trained by ``meta-train
tabular`` loads into the portfolio's ``mlp_torch`` whenever the input and output
sizes match: the ``state_dict`` keys are the same by construction.
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


def mlp(in_features: int, hidden: tuple[int, ...] | list[int], out_features: int, activation: str = "relu") -> nn.Sequential:
    """A plain fully connected network: Linear -> activation, repeated, then a Linear head.

    ``nn.Linear`` initializes its weights from torch's global generator; that
    generator is left where it was (the draws are those it would have given,
    so a caller that seeds it around this call still gets a seeded network).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    width = in_features
    with torch.random.fork_rng(devices=[]):
        for size in hidden:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
            width = size
        layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def mlp_architecture(in_features: int, hidden, out_features: int, activation: str = "relu") -> dict:
    """The JSON description of :func:`mlp`'s arguments, stored in checkpoint manifests."""
    return {
        "kind": "mlp",
        "in_features": int(in_features),
        "hidden": [int(h) for h in hidden],
        "out_features": int(out_features),
        "activation": activation,
    }
