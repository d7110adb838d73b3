"""Distances between datasets in min-max scaled meta-feature space (L1).

Used by the auto-sklearn-style kNN baseline and by ``MetaModel.nearest``.
Each meta-feature is scaled to [0, 1] with the training minimum and maximum;
a missing value is replaced by the training median (0.5 for a feature that is
always missing), so it neither attracts nor repels. Scaling works on halves
(``x / 2 - low / 2``), so values near the float limit (a meta-feature of
±1e308) neither overflow nor make a statistic infinite: the statistics are
saved as JSON with the meta-model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class MinMaxSpace:
    """Scaling statistics of a training meta-feature table, and L1 distances to its rows.

    Parameters are computed in :meth:`fit`; :meth:`to_dict`/:meth:`from_dict` keep them
    as plain JSON for the saved meta-model.
    """

    def __init__(self):
        self.columns_: list[str] = []

    def fit(self, meta_X: pd.DataFrame) -> "MinMaxSpace":
        values = meta_X.astype(float).replace([np.inf, -np.inf], np.nan)
        self.columns_ = [str(c) for c in values.columns]
        self.low_ = values.min().fillna(0.0).to_numpy()
        half_span = values.max().fillna(1.0).to_numpy() / 2 - self.low_ / 2  # finite even for -1e308 .. 1e308
        # a span beyond the largest float is capped there (such a feature is then scaled approximately)
        self.span_ = np.where(half_span > 0, np.minimum(half_span, np.finfo(float).max / 2) * 2, 1.0)
        self.fill_ = pd.DataFrame(self._scaled(values.to_numpy())).median().fillna(0.5).to_numpy()
        self.index_ = [str(i) for i in values.index]
        self.train_ = self.transform(values)
        return self

    def _scaled(self, values: np.ndarray) -> np.ndarray:
        """``(values - low_) / span_`` clipped to [0, 1], computed on halves so that nothing overflows."""
        return np.clip((values / 2 - self.low_ / 2) / (self.span_ / 2), 0.0, 1.0)

    def transform(self, meta_X: pd.DataFrame) -> np.ndarray:
        """Scaled values (rows x columns_), clipped to [0, 1], NaN filled with the training median."""
        values = meta_X.reindex(columns=self.columns_).astype(float).replace([np.inf, -np.inf], np.nan).to_numpy()
        scaled = self._scaled(values)
        return np.where(np.isnan(scaled), self.fill_, scaled)

    def distances(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        """L1 distances (query rows x training datasets)."""
        query = self.transform(meta_X)
        dist = np.abs(query[:, None, :] - self.train_[None, :, :]).sum(axis=2)
        return pd.DataFrame(dist, index=meta_X.index, columns=self.index_)

    def nearest(self, meta_x: pd.DataFrame, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` training datasets nearest to the first row of ``meta_x``: ``[(name, distance)]``."""
        row = self.distances(meta_x.iloc[:1]).iloc[0].sort_values(kind="stable")
        return [(str(name), float(d)) for name, d in row.iloc[:k].items()]

    def outside(self, values: dict, names) -> list[dict]:
        """Of ``names``, the features whose value lies outside the training datasets' range.

        ``[{"feature", "value", "min", "max"}]``: where a model fitted on those datasets extrapolates.
        """
        out = []
        for name in names:
            value = values.get(name)
            if name not in self.columns_ or value is None or not np.isfinite(value):
                continue
            i = self.columns_.index(name)
            low = float(self.low_[i])
            high = low + float(self.span_[i]) * float(self.train_[:, i].max())  # a constant feature's span is 1, its values 0
            if not low <= value <= high:
                out.append({"feature": name, "value": float(value), "min": low, "max": high})
        return out

    def to_dict(self) -> dict:
        return {
            "columns": self.columns_,
            "low": self.low_.tolist(),
            "span": self.span_.tolist(),
            "fill": self.fill_.tolist(),
            "index": self.index_,
            "train": self.train_.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "MinMaxSpace":
        space = cls()
        space.columns_ = list(data["columns"])
        space.low_ = np.asarray(data["low"], dtype=float)
        space.span_ = np.asarray(data["span"], dtype=float)
        space.fill_ = np.asarray(data["fill"], dtype=float)
        space.index_ = list(data["index"])
        space.train_ = np.asarray(data["train"], dtype=float).reshape(len(space.index_), len(space.columns_))
        return space
