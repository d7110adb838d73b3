"""The conv4 backbone of the MAML Omniglot experiments, and building a backbone from a manifest.

Four blocks of 3x3 convolution (64 filters, stride 2, padding 1), BatchNorm and
ReLU turn a 28x28 image into 64 x 2 x 2 features, followed by a linear head.
BatchNorm keeps no running statistics: each forward normalizes with the
statistics of the first ``stats_rows`` rows of its batch (all rows by default),
which expresses both the transductive and the support-statistics mode of
:mod:`automl_meta.neural.functional` without buffers, so it runs under ``vmap``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from automl_meta.neural.models import mlp, mlp_architecture


class EpisodeBatchNorm2d(nn.Module):
    """BatchNorm with a learned affine map and statistics from (part of) the current batch."""

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor, stats_rows: int | None = None) -> torch.Tensor:
        ref = x if stats_rows is None else x[:stats_rows]
        mean = ref.mean(dim=(0, 2, 3), keepdim=True)
        var = ref.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return x * self.weight[None, :, None, None] + self.bias[None, :, None, None]


class Conv4(nn.Module):
    """conv4 with ``filters`` channels per block and an ``out_features``-way linear head."""

    def __init__(self, out_features: int, in_channels: int = 1, filters: int = 64, image_size: int = 28):
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        channels, size = in_channels, image_size
        for _ in range(4):
            self.convs.append(nn.Conv2d(channels, filters, 3, stride=2, padding=1))
            self.norms.append(EpisodeBatchNorm2d(filters))
            channels, size = filters, (size + 1) // 2
        self.head = nn.Linear(filters * size * size, out_features)

    def forward(self, x: torch.Tensor, stats_rows: int | None = None) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(x), stats_rows))
        return self.head(x.flatten(1))


def conv4_architecture(out_features: int, in_channels: int = 1, filters: int = 64, image_size: int = 28) -> dict:
    """The JSON description of :class:`Conv4`'s arguments, stored in checkpoint manifests."""
    return {
        "kind": "conv4",
        "out_features": int(out_features),
        "in_channels": int(in_channels),
        "filters": int(filters),
        "image_size": int(image_size),
    }


def build_backbone(architecture: dict) -> nn.Module:
    """A fresh network from a manifest's ``architecture`` (``mlp`` or ``conv4``)."""
    kind = architecture.get("kind")
    args = {k: v for k, v in architecture.items() if k != "kind"}
    if kind == "mlp":
        return mlp(**args)
    if kind == "conv4":
        with torch.random.fork_rng(devices=[]):  # its layers initialize from torch's global generator: leave it where it was
            return Conv4(**args)
    raise ValueError(f"unknown architecture kind {kind!r}; expected 'mlp' or 'conv4'")


__all__ = ["Conv4", "EpisodeBatchNorm2d", "build_backbone", "conv4_architecture", "mlp_architecture"]
