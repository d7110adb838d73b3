"""The whole portfolio on a small sample of the shared PMLB corpus (skipped without ../shared)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.learners import get_learners

runner = CliRunner()

# hepatitis: binary, categorical columns and missing values; 1027_ESL: regression (integer
# target, so the task is given as MANIFEST.csv gives it).
SAMPLE = [("hepatitis", "classification"), ("1027_ESL", "regression")]


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize("name, task", SAMPLE)
def test_every_candidate_scores_or_is_recorded_with_a_reason(pmlb_dir, name, task):
    path = pmlb_dir / f"{name}.tsv.gz"
    args = ["evaluate", str(path), "--task", task, "--max-rows", "300", "--cv", "3", "--jobs", "2", "--timeout", "120", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["task"] == task
    rows = payload["results"]
    assert {r["learner"] for r in rows} == {s.name for s in get_learners(task)}
    for r in rows:
        if r["status"] == "ok":
            assert len(r["fold_scores"]) == payload["cv"] and r["mean"] is not None, r
        else:
            assert r["status"] in ("failed", "timeout") and r["reason"], r
    assert sum(r["status"] == "ok" for r in rows) >= len(rows) - 2
    best, dummy = rows[0], next(r for r in rows if r["learner"] == "dummy")
    assert best["mean"] > dummy["mean"]
