"""`selector evaluate --probe FOLDER`: every dataset of a folder build probed as `recommend --probe` probes, cached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from conftest import SIX_TABLE_LEARNERS as LEARNERS
from conftest import build_six_table_db, make_mixed_frame

runner = CliRunner()
BASELINES = ("meta-model", "SBS", "kNN (auto-sklearn)", "1-NN simple (FLAML)", "random")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Six small classification files and the meta-database `db build` made of them: (folder, db)."""
    return build_six_table_db(tmp_path_factory.mktemp("probe"))


def _evaluate(db, *extra):
    result = runner.invoke(app, ["selector", "evaluate", "--db", str(db), "--seeds", "1", "--bootstrap", "0", "--json", *map(str, extra)])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_probe_adds_the_probe_and_the_blend_leaves_the_baselines_as_they_were_and_is_cached(built):
    data, db = built
    plain = _evaluate(db)
    probed = _evaluate(db, "--probe", data)
    assert set(probed["selectors"]) == {*BASELINES, "probe", "meta-model + probe"}
    for name in BASELINES:  # fitted without the probe columns: the same numbers
        assert probed["selectors"][name]["mean"] == plain["selectors"][name]["mean"], name
    assert probed["n_meta_features"] == plain["n_meta_features"]
    info = probed["probe"]
    assert (info["probed"], info["cached"], info["weight"], info["metric"]) == (6, 0, 0.85, "balanced_accuracy")  # was null
    records = [json.loads(line) for line in open(info["file"])]
    assert sorted(r["dataset"] for r in records) == sorted(f"{k}_{i}" for k in ("mixed", "synth") for i in range(3))
    assert all(set(r["scores"]) == set(LEARNERS) for r in records)

    lower = _evaluate(db, "--probe", data, "--metric", "log_loss", "--max-datasets", "3")  # the probe measures the metric asked for
    assert lower["probe"]["metric"] == "log_loss" and "log-loss" in lower["probe"]["file"] and lower["probe"]["probed"] == 3

    again = _evaluate(db, "--probe", data, "--probe-weight", "0.5")
    assert (again["probe"]["probed"], again["probe"]["cached"], again["probe"]["weight"]) == (0, 6, 0.5)
    assert again["selectors"]["probe"]["mean"] == probed["selectors"]["probe"]["mean"]


def test_each_row_of_the_probe_table_is_that_datasets_own_probe(built, tmp_path):
    from automl_meta.io.probe_runs import ProbeSettings, probe_table
    from automl_meta.io.tables import load_dataset
    from automl_meta.metadb import MetaDB
    from automl_meta.probe import probe_scores

    data, db = built
    with MetaDB.open(db) as store:
        datasets = store.datasets("classification")
    settings = ProbeSettings(metric="log_loss", rows=100, draws=1, seed=3)
    table, summary = probe_table(datasets, data, list(LEARNERS), settings, cache_dir=tmp_path)
    assert list(table.index) == list(datasets["name"]) and summary["probed"] == len(datasets)
    assert "log-loss" in summary["file"]
    for name in ("mixed_2", "synth_0"):
        direct = probe_scores(load_dataset(data / f"{name}.csv", task="classification", name=name), list(LEARNERS),
                              rows=100, draws=1, random_state=3, n_jobs=1, metric="log_loss")
        assert table.loc[name].to_numpy() == pytest.approx(direct.scores.to_numpy(), nan_ok=True), name


def test_the_probe_cache_keeps_every_learner_probed_and_probes_only_those_missing(built, tmp_path):
    from automl_meta.io.probe_runs import ProbeSettings, probe_table
    from automl_meta.metadb import MetaDB

    data, db = built
    with MetaDB.open(db) as store:
        datasets = store.datasets("classification").head(2)
    settings = ProbeSettings(rows=100, draws=1)
    first, summary = probe_table(datasets, data, ["dummy", "decision_tree"], settings, cache_dir=tmp_path)
    assert summary["probed"] == 2
    other, summary = probe_table(datasets, data, ["decision_tree", "gaussian_nb"], settings, cache_dir=tmp_path)
    assert summary["probed"] == 2  # gaussian_nb only
    records = [json.loads(line) for line in open(summary["file"])]
    assert [sorted(r["scores"]) for r in records[2:]] == [["gaussian_nb"], ["gaussian_nb"]]
    assert other["probe:decision_tree"].tolist() == first["probe:decision_tree"].tolist()
    again, summary = probe_table(datasets, data, ["dummy", "decision_tree", "gaussian_nb"], settings, cache_dir=tmp_path)
    assert (summary["probed"], summary["cached"]) == (0, 2)
    assert again["probe:gaussian_nb"].tolist() == other["probe:gaussian_nb"].tolist()


def test_a_line_cut_short_by_a_kill_costs_only_its_own_probe_and_an_unwritable_cache_only_a_warning(built, tmp_path, caplog):
    from automl_meta.io.probe_runs import ProbeSettings, probe_table
    from automl_meta.metadb import MetaDB

    data, db = built
    with MetaDB.open(db) as store:
        datasets = store.datasets("classification").head(3)
    settings = ProbeSettings(rows=100, draws=1)
    full, summary = probe_table(datasets, data, ["dummy"], settings, cache_dir=tmp_path)
    path = Path(summary["file"])
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:40])  # the second record torn, as a kill mid-write leaves it
    _, summary = probe_table(datasets, data, ["dummy"], settings, cache_dir=tmp_path)
    assert (summary["probed"], summary["cached"]) == (2, 1)  # the torn one and the third
    again, summary = probe_table(datasets, data, ["dummy"], settings, cache_dir=tmp_path)
    assert (summary["probed"], summary["cached"]) == (0, 3)  # the rerun's records were kept: none joined the torn line
    assert again.equals(full)

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    with caplog.at_level("WARNING", logger="automl_meta"):
        table, summary = probe_table(datasets, data, ["dummy"], settings, cache_dir=blocked)
    assert table.equals(full) and summary["probed"] == 3
    assert sum("cannot write the probe cache" in r.getMessage() for r in caplog.records) == 1


def test_probe_refuses_a_folder_without_the_files_a_changed_file_and_an_aslib_scenario(built, tmp_path):
    import shutil

    data, db = built
    a_file = runner.invoke(app, ["selector", "evaluate", "--db", str(db), "--probe", str(data / "mixed_0.csv")])
    assert a_file.exit_code == 2 and "a file, not a folder" in a_file.stderr
    missing = runner.invoke(app, ["selector", "evaluate", "--db", str(db), "--probe", str(tmp_path)])
    assert missing.exit_code == 2
    assert "6 of the 6 datasets have no file there" in " ".join(missing.stderr.split())
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    make_mixed_frame(130, seed=9).to_csv(copy / "mixed_1.csv", index=False)
    changed = runner.invoke(app, ["selector", "evaluate", "--db", str(db), "--probe", str(copy)])
    assert changed.exit_code == 2
    assert "mixed_1.csv: its data are not those the meta-database stored for mixed_1" in " ".join(changed.stderr.split())
    both = runner.invoke(app, ["selector", "evaluate", "--aslib", str(tmp_path), "--probe", str(data)])
    assert both.exit_code == 2 and "drop --probe" in both.stderr
    alone = runner.invoke(app, ["selector", "evaluate", "--db", str(db), "--probe-weight", "0.5"])
    assert alone.exit_code == 2 and "--probe-weight sets how --probe runs; add --probe FOLDER" in alone.stderr
