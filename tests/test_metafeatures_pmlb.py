"""`automl-meta metafeatures FILE --target target --json` on real PMLB classification files.

A deterministic sample of six small files spread over the manifest's size
order (skipped without ../shared); every one must give the same key set.
And the regression targets' strata on every PMLB regression file.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.io import load_dataset
from automl_meta.metafeatures.preprocess import target_strata

pytestmark = pytest.mark.shared

N_FILES = 6
MAX_ROWS = 1000


def _sample(pmlb_dir):
    with open(pmlb_dir / "MANIFEST.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["task"] == "classification" and int(r["n_rows"]) <= MAX_ROWS]
    rows.sort(key=lambda r: (int(r["n_rows"]) * int(r["n_features"]), r["name"]))
    step = max(1, len(rows) // N_FILES)
    return rows[::step][:N_FILES]


def test_metafeatures_json_on_a_sample_of_pmlb_classification_files(pmlb_dir, tmp_path):
    runner = CliRunner()
    sample = _sample(pmlb_dir)
    assert len(sample) == N_FILES
    key_sets = set()
    for row in sample:
        path = pmlb_dir / f"{row['name']}.tsv.gz"
        result = runner.invoke(
            app, ["metafeatures", str(path), "--target", "target", "--json", "--cache-dir", str(tmp_path)]
        )
        assert result.exit_code == 0, f"{row['name']}: {result.stderr}"
        doc = json.loads(result.stdout)
        values = doc["metafeatures"]
        assert doc["task"] == "classification", row["name"]
        assert values["nr_inst"] == doc["n_rows"] <= int(row["n_rows"]), row["name"]
        assert values["nr_class"] == int(row["n_classes"]), row["name"]
        assert sum(v is not None for v in values.values()) > 0.8 * len(values), row["name"]
        key_sets.add(tuple(values))
    assert len(key_sets) == 1



def test_only_targets_with_a_point_mass_at_the_minimum_change_strata(pmlb_dir):
    with open(pmlb_dir / "MANIFEST.csv", newline="") as fh:
        names = [r["name"] for r in csv.DictReader(fh) if r["task"] == "regression"]
    changed = set()
    for name in names:
        dataset = load_dataset(pmlb_dir / f"{name}.tsv.gz", target="target", task="regression")
        y, after = dataset.y.to_numpy(dtype=float), target_strata(dataset)
        # extractor versions up to 4: a point mass at the minimum shared the values above it
        edges = np.unique(np.quantile(y, np.linspace(0, 1, 6)[1:-1]))
        if not np.array_equal(np.searchsorted(edges, y, side="right"), after):
            changed.add(name)
            assert np.array_equal(after == 0, y == y.min()), name
    assert len(names) == 44
    assert changed == {"201_pol", "556_analcatdata_apnea2", "557_analcatdata_apnea1"}  # 62%, 52%, 57% at the minimum
