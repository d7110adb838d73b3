"""`automl-meta recommend` and `predict`: ranking, explanations, evaluation, fitted winners, errors.

Every test uses a small meta-database built in a temporary folder by the real
builder (`automl-meta db build` on six synthetic classification CSVs, four fast
learners, 3-fold CV), never the shipped one.
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.dataset import make_dataset
from automl_meta.evaluation import evaluate
from automl_meta.exceptions import MetaDBError
from automl_meta.io import load_dataset
from automl_meta.io.metadb_resolve import load_selector
from automl_meta.metafeatures import extract_metafeatures
from automl_meta.recommend import evaluate_top, fit_winner, halving_schedule, recommend
from automl_meta.selection import MetaModel
from conftest import SIX_TABLE_LEARNERS, build_six_table_db, make_mixed_frame, synthetic_classes

runner = CliRunner()
LEARNERS = SIX_TABLE_LEARNERS


@pytest.fixture(scope="module")
def metadb(tmp_path_factory):
    """A six-dataset classification meta-database built by `db build`."""
    return build_six_table_db(tmp_path_factory.mktemp("metadb"))[1]


@pytest.fixture
def churn_csv(tmp_path):
    path = tmp_path / "churn.csv"
    make_mixed_frame(160, seed=11).to_csv(path, index=False)
    return path


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_recommend_json_has_the_documented_schema(metadb, churn_csv):
    result = _invoke("recommend", churn_csv, "--db", metadb, "--top", 3, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    for key in ("task", "target", "metric", "recommendations", "nearest_datasets", "metafeature_seconds", "total_seconds"):
        assert key in doc
    assert (doc["task"], doc["target"], doc["metric"]) == ("classification", "target", "balanced_accuracy")
    recs = doc["recommendations"]
    assert [r["rank"] for r in recs] == [1, 2, 3]
    assert {r["learner"] for r in recs} <= set(LEARNERS)
    assert all(isinstance(r["predicted_score"], float) and isinstance(r["predicted_at_most"], bool) for r in recs)
    assert doc["in_metadb"] is None
    assert all(r["interval"][0] <= r["interval"][1] for r in recs)
    assert doc["n_candidates"] == len(LEARNERS)
    assert len(doc["nearest_datasets"]) == 3
    assert {d["dataset"] for d in doc["nearest_datasets"]} <= {f"{k}_{i}" for k in ("mixed", "synth") for i in range(3)}
    assert doc["total_seconds"] >= doc["metafeature_seconds"] >= 0
    assert doc["metafeatures_cached"] is False
    again = json.loads(_invoke("recommend", churn_csv, "--db", metadb, "--top", 3, "--json").stdout)
    assert again["metafeatures_cached"] is True  # found by this process; the child was stopped
    assert again["recommendations"] == recs


def test_recommend_gives_the_stored_scores_of_data_the_db_already_holds(metadb, churn_csv, tmp_path):
    from automl_meta.metadb import MetaDB

    copy = tmp_path / "renamed.csv"  # same data under another name: matched by content, not by name
    copy.write_bytes((metadb.parent / "data" / "synth_1.csv").read_bytes())
    result = _invoke("recommend", copy, "--db", metadb, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    with MetaDB.open(metadb) as db:
        stored = db.scores("balanced_accuracy", "classification").loc["synth_1"]
    assert doc["in_metadb"] == "synth_1"
    measured = {r["learner"]: r["measured_score"] for r in doc["recommendations"] if r["measured_status"] == "ok"}
    assert measured == pytest.approx(stored.dropna().to_dict())
    # each learner's stored status, as the database holds it, rather than a key that comes and goes
    with MetaDB.open(metadb) as db:
        statuses = db.evaluation_statuses("synth_1", "classification")
    assert {r["learner"]: r["measured_status"] for r in doc["recommendations"]} == {
        r["learner"]: statuses.get(r["learner"], "not stored") for r in doc["recommendations"]}
    assert all(r["measured_score"] is None for r in doc["recommendations"] if r["measured_status"] != "ok")
    table = _invoke("recommend", copy, "--db", metadb)
    text = " ".join(table.stdout.split())  # rich wraps at the runner's 80 columns
    assert "measured" in text and "these data are 'synth_1' in the meta-database" in text
    other = json.loads(_invoke("recommend", churn_csv, "--db", metadb, "--json").stdout)
    assert other["in_metadb"] is None
    assert all(r["measured_score"] is None and r["measured_status"] is None for r in other["recommendations"])


def test_recommend_table_lists_ranks_and_nearest_datasets(metadb, churn_csv):
    result = _invoke("recommend", churn_csv, "--db", metadb)
    assert result.exit_code == 0, result.output
    assert "recommended learners" in result.stdout
    assert "nearest meta-database datasets" in result.stdout
    assert all(name in result.stdout for name in LEARNERS)


def test_recommend_says_when_the_data_lie_outside_the_meta_database(metadb, churn_csv, tmp_path):
    doc = json.loads(_invoke("recommend", churn_csv, "--db", metadb, "--json").stdout)
    assert doc["outside_training"] == []  # 160 rows, among the database's 120-200
    small = tmp_path / "small.csv"
    make_mixed_frame(40, seed=3).to_csv(small, index=False)
    doc = json.loads(_invoke("recommend", small, "--db", metadb, "--json").stdout)
    rows = [o for o in doc["outside_training"] if o["feature"] == "nr_inst"]
    assert rows == [{"feature": "nr_inst", "value": 40.0, "min": 120.0, "max": 200.0}]
    result = _invoke("recommend", small, "--db", metadb)
    assert result.exit_code == 0, result.output
    assert "outside the meta-database: 40 rows (its datasets: 120-200)" in " ".join(result.stdout.split())


def test_recommend_orders_learners_by_the_meta_model(metadb):
    dataset = make_dataset(make_mixed_frame(160, seed=11), target="target")
    selector = load_selector("classification", db=metadb)
    mf = extract_metafeatures(dataset, **selector.mf_options)
    rec = recommend(dataset, selector.model, metric=selector.metric, maximize=selector.maximize, metafeatures=mf)
    utility = selector.model.decision_function(pd.DataFrame([mf.values], dtype=float)).iloc[0]
    assert [r.learner for r in rec.ranking] == list(utility.sort_values(ascending=False, kind="stable").index)
    assert sorted(r.learner for r in rec.ranking) == sorted(LEARNERS)


def test_explain_contributions_sum_to_the_prediction(metadb):
    """With splits allowed (tiny meta-database), the listed contributions are non-trivial and add up."""
    from automl_meta.metadb import MetaDB

    with MetaDB.open(metadb) as db:
        meta_X, scores = db.meta_features("classification"), db.scores("balanced_accuracy", "classification")
    model = MetaModel(method="per_learner", min_child_samples=1, num_leaves=3, random_state=0).fit(meta_X, scores)
    dataset = make_dataset(make_mixed_frame(160, seed=11), target="target")
    mf = extract_metafeatures(dataset, max_rows=200)
    rec = recommend(dataset, model, metric="balanced_accuracy", metafeatures=mf, explain=len(LEARNERS))
    utility = model.decision_function(pd.DataFrame([mf.values], dtype=float)).iloc[0]
    moved = 0
    for r in rec.ranking:
        total = sum(c for _, c in r.contributions)
        assert math.isclose(total, r.utility, rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(r.utility, utility[r.learner], rel_tol=1e-9, abs_tol=1e-9)
        moved += any(c != 0 for f, c in r.contributions if f != "bias")
    assert moved > 0


def test_explain_json_contributions_sum_to_the_utility(metadb, churn_csv):
    result = _invoke("recommend", churn_csv, "--db", metadb, "--explain", "--json")
    assert result.exit_code == 0, result.output
    for r in json.loads(result.stdout)["recommendations"]:
        total = sum(c["contribution"] for c in r["contributions"])
        assert math.isclose(total, r["utility"], rel_tol=1e-9, abs_tol=1e-9)
        assert r["contributions"][-1]["feature"] == "bias"


def test_explain_table_gives_each_top_learner_its_bias_on_its_line(metadb, churn_csv):
    doc = json.loads(_invoke("recommend", churn_csv, "--db", metadb, "--explain", "--top", 2, "--json").stdout)
    table = _invoke("recommend", churn_csv, "--db", metadb, "--explain", "--top", 2)
    assert table.exit_code == 0, table.output
    why = table.stdout[table.stdout.index("why:"):]
    for r in doc["recommendations"]:
        bias = next(c["contribution"] for c in r["contributions"] if c["feature"] == "bias")
        line = next(line for line in why.splitlines() if line.startswith(r["learner"] + " "))
        assert line.split()[-1] == f"{bias:.3f}"


def test_recommend_rejects_a_task_the_db_lacks(metadb, tmp_path):
    path = tmp_path / "prices.csv"
    make_mixed_frame(120, seed=3, task="regression").to_csv(path, index=False)
    result = _invoke("recommend", path, "--db", metadb)
    assert result.exit_code == 2  # the data and the database do not fit together: bad input
    assert "no regression datasets" in result.stderr and metadb.name in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with pytest.raises(MetaDBError, match="no regression datasets"):
        load_selector("regression", db=metadb)


def test_recommend_rejects_single_class_target(metadb, tmp_path):
    frame = make_mixed_frame(60, seed=2)
    frame["target"] = "yes"
    path = tmp_path / "one_class.csv"
    frame.to_csv(path, index=False)
    result = _invoke("recommend", path, "--db", metadb)
    assert result.exit_code == 2
    assert "has one class" in result.stderr


def test_recommend_names_a_missing_db(tmp_path, churn_csv):
    result = _invoke("recommend", churn_csv, "--db", tmp_path / "absent.sqlite")
    assert result.exit_code == 2  # a path that does not exist is bad input, as a missing data file is
    assert "absent.sqlite: no such meta-database" in result.stderr


def test_evaluate_top_reports_real_scores_and_fits_the_best(metadb, churn_csv, tmp_path):
    model_path = tmp_path / "best.skops"
    result = _invoke("recommend", churn_csv, "--db", metadb, "--evaluate-top", 2, "--cv", 2, "--fit", model_path, "--json")
    assert result.exit_code == 0, result.output
    recs = json.loads(result.stdout)["recommendations"]
    evaluated = [r for r in recs if r["real_status"] is not None]
    assert len({frozenset(r) for r in recs}) == 1  # every entry has the same keys, null where not evaluated
    assert [r["rank"] for r in evaluated] == [1, 2]
    assert all(r["real_status"] == "ok" and 0 <= r["real_score"] <= 1 for r in evaluated)
    best = max(evaluated, key=lambda r: (r["real_score"], -r["rank"]))
    sidecar = json.loads(model_path.with_name("best.skops.json").read_text())
    assert (sidecar["learner"], sidecar["chosen_by"]) == (best["learner"], "evaluation")
    assert sidecar["real_score"] == best["real_score"]


def test_timeout_without_evaluate_top_or_not_positive_is_refused_before_any_work(metadb, churn_csv):
    alone = _invoke("recommend", churn_csv, "--db", metadb, "--timeout", 5)
    assert alone.exit_code == 2 and "--timeout sets how --evaluate-top runs; add --evaluate-top K" in alone.stderr
    for extra in (["--cv", 3], ["--no-halving"], ["--cv", 3, "--halving"]):
        ignored = _invoke("recommend", churn_csv, "--db", metadb, *extra)
        assert ignored.exit_code == 2 and "how --evaluate-top runs; add --evaluate-top K" in ignored.stderr, extra
    zero = _invoke("recommend", churn_csv, "--db", metadb, "--evaluate-top", 1, "--timeout", 0)
    assert zero.exit_code == 2 and "--timeout must be a positive number" in zero.stderr and zero.stdout == ""


def test_evaluate_top_stops_fits_over_the_timeout(metadb, churn_csv):
    result = _invoke("recommend", churn_csv, "--db", metadb, "--evaluate-top", 1, "--cv", 2, "--timeout", 1e-4, "--json")
    assert result.exit_code == 0, result.output
    (evaluated,) = [r for r in json.loads(result.stdout)["recommendations"] if r["real_status"] is not None]
    assert evaluated["rank"] == 1 and evaluated["real_status"] == "timeout" and evaluated["real_score"] is None


def test_probe_reranks_by_the_blend_of_probe_and_model_ranks(metadb, churn_csv):
    from automl_meta.selection.probe import blend_ranks

    result = _invoke("recommend", churn_csv, "--db", metadb, "--probe", "--probe-rows", 90, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["probe"]["rows"], doc["probe"]["cv"], doc["probe"]["draws"]) == (90, 3, 3)
    recs = doc["recommendations"]
    assert [r["rank"] for r in recs] == list(range(1, len(LEARNERS) + 1))
    assert sorted(r["model_rank"] for r in recs) == list(range(1, len(LEARNERS) + 1))
    assert all(0 <= r["probe_score"] <= 1 for r in recs)
    names = [r["learner"] for r in recs]
    blended = blend_ranks(
        pd.DataFrame([[r["utility"] for r in recs]], columns=names),
        pd.DataFrame([[r["probe_score"] for r in recs]], columns=names),
        True,
        doc["probe"]["weight"],
    ).iloc[0]
    assert list(blended.to_numpy()) == sorted(blended.to_numpy(), reverse=True)
    table = _invoke("recommend", churn_csv, "--db", metadb, "--probe-rows", 90, "--probe-draws", 1)  # implies --probe
    assert table.exit_code == 0 and "probe" in table.output and "ranked by the probe (1 x 90 rows" in table.output


def test_successive_halving_keeps_the_best_for_all_rows(metadb):
    dataset = make_dataset(make_mixed_frame(300, seed=5), target="target")
    selector = load_selector("classification", db=metadb)
    rec = recommend(dataset, selector.model, metric=selector.metric, metafeatures=extract_metafeatures(dataset, max_rows=200))
    rec = evaluate_top(dataset, rec, k=3, cv=2, halving=True, min_rows=50)
    evaluated = rec.evaluated
    assert len(evaluated) == 3
    full = [r for r in evaluated if r.real_rows == 300]
    assert len(full) == 1
    assert sorted(r.real_rows for r in evaluated) == [100, 100, 300]
    assert rec.winner().learner == full[0].learner
    # the survivor was the best of the three on the first rung (same protocol, 100 rows)
    rung = evaluate(dataset, learners=[r.learner for r in evaluated], cv=2, metric=rec.metric, max_rows=100)
    assert rung.results[0].learner == full[0].learner


def test_successive_halving_stops_when_every_candidate_ran_out_of_time(metadb):
    dataset = make_dataset(make_mixed_frame(300, seed=5), target="target")
    selector = load_selector("classification", db=metadb)
    rec = recommend(dataset, selector.model, metric=selector.metric, metafeatures=extract_metafeatures(dataset, max_rows=200))
    rec = evaluate_top(dataset, rec, k=3, cv=2, halving=True, min_rows=50, timeout=1e-4)
    # all three timed out on 100 rows: none goes on to 300 rows, where it would take longer still
    assert [(r.real_status, r.real_rows) for r in rec.evaluated] == [("timeout", 100)] * 3


def test_recommend_table_marks_learners_halving_dropped(metadb, tmp_path):
    data = tmp_path / "bigger.csv"
    make_mixed_frame(3000, seed=6).to_csv(data, index=False)
    result = _invoke("recommend", data, "--db", metadb, "--evaluate-top", 3, "--cv", 2)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert text.count(" on 1,000") == 2  # two of three dropped after the first rung; the winner ran on all rows
    assert "'on N': dropped by successive halving after N rows" in text


def test_recommend_table_leaves_out_optional_columns_rather_than_cut_cells(metadb, tmp_path, monkeypatch):
    from automl_meta.cli._common import out

    data = tmp_path / "bigger.csv"
    make_mixed_frame(3000, seed=6).to_csv(data, index=False)
    args = ("recommend", data, "--db", metadb, "--probe-rows", 300, "--probe-draws", 1, "--evaluate-top", 2, "--cv", 2)
    narrow = _invoke(*args)  # the runner's console is 80 columns wide
    assert narrow.exit_code == 0, narrow.output
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80 and "…" not in narrow.stdout
    assert "on 1,000" in narrow.stdout  # the halving note stays whole
    assert "'probe fit s' and 'range on 5 nearest' left out to fit the terminal" in " ".join(narrow.stdout.split())
    monkeypatch.setattr(out, "width", 200)
    wide = _invoke(*args)
    assert wide.exit_code == 0, wide.output
    text = " ".join(wide.stdout.split())
    assert "left out" not in text and "fit s: seconds per fit on its training folds of about 200 rows" in text
    assert "hence its smaller weight" in text and "--evaluate-top 3 checks" not in text  # it did evaluate
    header = next(line for line in wide.stdout.splitlines() if "range on" in line)
    assert "probe" in header  # the two-line header: "probe / fit s" above "probe"


def test_fit_columns_drops_the_optional_columns_in_order_until_the_rows_fit():
    from automl_meta.cli._common import fit_columns

    headers, rows = ["a", "b", "c"], [["x" * 10, "y" * 10, "z" * 10]]
    assert fit_columns(headers, rows, optional=("c", "b"), width=34) == (headers, rows, [])  # 3 x 10 + 2 gaps of 2
    assert fit_columns(headers, rows, optional=("c", "b"), width=33) == (["a", "b"], [["x" * 10, "y" * 10]], ["c"])
    assert fit_columns(headers, rows, optional=("c", "b"), width=15) == (["a"], [["x" * 10]], ["c", "b"])
    assert fit_columns(["long\nheader"], [["1"]], width=5)[2] == []  # a header needs only its longest word


def test_a_winner_fitted_on_dates_predicts_from_the_raw_dates(metadb, tmp_path):
    frame = make_mixed_frame(200, seed=7)
    frame.insert(0, "when", pd.date_range("2022-01-01", periods=200, freq="5h").astype(str))
    data, model = tmp_path / "dated.csv", tmp_path / "dated.skops"
    frame.to_csv(data, index=False)
    table = _invoke("recommend", data, "--db", metadb, "--fit", model, "--random-state", 1)
    assert table.exit_code == 0, table.output
    as_json = json.loads(_invoke("recommend", data, "--db", metadb, "--json").stdout)
    assert as_json["columns"]["dates"] == ["when"] and as_json["columns"]["date_formats"] == {"when": "ISO8601"}
    assert "dates as numeric parts: when (ISO8601)" in " ".join(table.stdout.split())
    sidecar = json.loads(model.with_name("dated.skops.json").read_text())
    assert sidecar["date_columns"] == ["when"] and "when.hour" in [c["name"] for c in sidecar["columns"]]

    new = tmp_path / "new.csv"
    frame.drop(columns="target").tail(30).to_csv(new, index=False)
    result = _invoke("predict", model, new, "--json")
    assert result.exit_code == 0, result.output
    in_memory = fit_winner(make_dataset(frame, target="target"), sidecar["learner"], random_state=1)
    expected = in_memory.predict(make_dataset(frame, target="target").X.tail(30))
    assert json.loads(result.stdout)["predictions"] == list(expected)
    typed = tmp_path / "new.parquet"  # parquet keeps a datetime column: the same parts
    frame.drop(columns="target").tail(30).assign(when=lambda f: pd.to_datetime(f["when"])).to_parquet(typed)
    result = _invoke("predict", model, typed, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["predictions"] == list(expected)
    assert json.loads(result.stdout)["unseen_categories"] == {}
    recoloured = frame.drop(columns="target").tail(30).assign(color="mauve")
    recoloured.to_csv(new, index=False)
    result = _invoke("predict", model, new, "--json")
    assert json.loads(result.stdout)["unseen_categories"] == {"color": {"rows": 30, "distinct": 1, "values": ["mauve"]}}
    result = _invoke("predict", model, new)
    assert result.exit_code == 0 and "column 'color' holds categories the model never saw in 30 row(s) ('mauve')" in " ".join(result.stdout.split())
    frame.drop(columns=["target", "when"]).tail(30).to_csv(new, index=False)
    result = _invoke("predict", model, new)
    assert result.exit_code == 2  # the date column is named, not its derived parts
    assert "columns the model was fitted on are missing: when (it reads 5 columns;" in " ".join(result.stderr.split())

    broken = frame.drop(columns="target").tail(30)
    broken.iloc[4, 0] = "soon"
    broken.to_csv(new, index=False)
    result = _invoke("predict", model, new)
    assert result.exit_code == 2
    assert "column 'when' held ISO 8601 dates when the model was fitted, but holds 'soon'" in " ".join(result.stderr.split())


def test_day_first_or_month_first_settles_dates_whose_day_and_month_cannot_be_told_apart(metadb, tmp_path):
    frame = make_mixed_frame(120, seed=3)
    frame.insert(0, "when", pd.date_range("2015-01-01", periods=120, freq="MS").strftime("%d/%m/%Y"))  # always the 1st
    data = tmp_path / "monthly.csv"
    frame.to_csv(data, index=False)
    plain = _invoke("recommend", data, "--db", metadb, "--json")
    assert plain.exit_code == 0 and json.loads(plain.stdout)["columns"]["dates"] == []
    warned = [line for line in plain.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warned) == 1 and "it stays text: pass --day-first or --month-first" in warned[0]
    for flag, fmt in (("--day-first", "%d/%m/%Y"), ("--month-first", "%m/%d/%Y")):
        result = _invoke("recommend", data, "--db", metadb, flag, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["columns"]["date_formats"] == {"when": fmt}
    for command in ("metafeatures", "evaluate"):
        assert "--day-first" in " ".join(_invoke(command, "--help").stdout.split())


def test_recommend_extracts_the_meta_feature_groups_the_database_was_built_with(tmp_path, monkeypatch, churn_csv):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        synthetic_classes(i).to_csv(data / f"synth_{i}.csv", index=False)
    db = tmp_path / "narrow.sqlite"
    built = _invoke("db", "build", "--source", f"dir:{data}", "--db", db, "--cv", "2", "--max-rows", "100",
                    "--learners", "dummy,gaussian_nb", "--mf-groups", "general,statistical", "--quiet")
    assert built.exit_code == 0, built.output
    monkeypatch.setenv("AUTOML_META_CACHE_DIR", str(tmp_path / "cache"))
    result = _invoke("recommend", churn_csv, "--db", db, "--json")
    assert result.exit_code == 0, result.output
    (entry,) = (tmp_path / "cache").glob("*.json")
    names = json.loads(entry.read_text())["values"]
    assert "cor.mean" in names and "nr_inst" in names  # statistical and general
    assert not any(n.startswith(("one_nn", "leaves", "attr_ent")) for n in names)  # no landmarking, model-based, info-theory


def test_a_larger_table_is_extracted_in_two_processes_into_the_vector_of_one(tmp_path, monkeypatch):
    import automl_meta.metafeatures as metafeatures
    from automl_meta.io.metadb_resolve import db_mf_options

    frame = make_mixed_frame(2400, seed=4)
    for j in range(10):
        frame[f"extra{j}"] = np.random.default_rng(j).normal(size=len(frame)) + (frame["target"] == "yes") * 0.1 * j
    data = tmp_path / "larger.csv"
    frame.to_csv(data, index=False)
    here = []  # the groups this process extracts; the forked child's calls stay in the child
    real = metafeatures.extract_metafeatures

    @functools.wraps(real)  # the cache key reads its signature
    def spy(dataset, **options):
        here.append(options.get("groups"))
        return real(dataset, **options)

    monkeypatch.setattr(metafeatures, "extract_metafeatures", spy)
    monkeypatch.setenv("AUTOML_META_CACHE_DIR", str(tmp_path / "cache"))
    result = _invoke("recommend", data, "--json")  # the shipped database: samples of 2,000 rows
    assert result.exit_code == 0, result.output
    assert here == [("general", "statistical", "info-theory", "model-based")]  # landmarking went to the child
    (entry,) = (tmp_path / "cache").glob("*.json")
    whole = real(make_dataset(frame), **db_mf_options(None))
    assert list(json.loads(entry.read_text())["values"].items()) == list(whole.values.items())
    again = _invoke("recommend", data, "--json")
    assert json.loads(again.stdout)["metafeatures_cached"] is True
    assert json.loads(again.stdout)["recommendations"] == json.loads(result.stdout)["recommendations"]


def test_predict_leaves_out_probability_columns_that_do_not_fit(metadb, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    labels = [f"class_{v}" for v in (x[:, 0] * 3).round().clip(-5, 5).astype(int)]  # 11 classes
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(target=labels)
    data, model = tmp_path / "many.csv", tmp_path / "many.skops"
    frame.to_csv(data, index=False)
    assert _invoke("recommend", data, "--db", metadb, "--fit", model).exit_code == 0
    result = _invoke("predict", model, data)  # the runner's console is 80 columns wide
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80 and "…" not in result.stdout
    header = next(line for line in result.stdout.splitlines() if line.startswith("prediction"))
    shown = header.count("proba_")
    assert 0 < shown < 11 and f"{11 - shown} probability columns left out" in " ".join(result.stdout.split())


def test_halving_schedule_ends_with_all_rows():
    assert halving_schedule(20000, 3) == [6666, 20000]
    assert halving_schedule(20000, 9) == [2222, 6666, 20000]
    assert halving_schedule(2000, 5) == [2000]  # too small to cut
    assert halving_schedule(50000, 1) == [50000]


def test_fit_then_predict_round_trips(metadb, churn_csv, tmp_path):
    model_path = tmp_path / "winner.skops"
    result = _invoke("recommend", churn_csv, "--db", metadb, "--fit", model_path, "--random-state", 3, "--json")
    assert result.exit_code == 0, result.output
    saved = json.loads(result.stdout)["fitted_model"]
    sidecar = json.loads(model_path.with_name("winner.skops.json").read_text())
    assert sidecar["learner"] == saved["learner"] == json.loads(result.stdout)["recommendations"][0]["learner"]
    assert sidecar["classes"] == ["no", "yes"] and sidecar["target"] == "target"
    assert [c["name"] for c in sidecar["columns"]] == ["x1", "x2", "color", "flag"]
    assert {"scikit-learn", "skops", "python"} <= set(sidecar["versions"])

    new = tmp_path / "new.csv"
    make_mixed_frame(50, seed=99).drop(columns="target").to_csv(new, index=False)
    out = tmp_path / "preds.csv"
    result = _invoke("predict", model_path, new, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    written = pd.read_csv(out)

    dataset = load_dataset(churn_csv)
    in_memory = fit_winner(dataset, saved["learner"], random_state=3)
    fresh = make_dataset(make_mixed_frame(50, seed=99), target="target")
    expected = in_memory.predict(fresh.X)
    assert doc["predictions"] == list(expected)
    assert written["prediction"].astype(str).tolist() == list(expected)
    np.testing.assert_allclose(written["proba_yes"], in_memory.predict_proba(fresh.X)[:, 1])


def test_predict_names_a_missing_column(metadb, churn_csv, tmp_path):
    model_path = tmp_path / "winner.skops"
    assert _invoke("recommend", churn_csv, "--db", metadb, "--fit", model_path).exit_code == 0
    bad = tmp_path / "bad.csv"
    make_mixed_frame(30, seed=1).drop(columns=["color", "target"]).to_csv(bad, index=False)
    result = _invoke("predict", model_path, bad)
    assert result.exit_code == 2
    assert "columns the model was fitted on are missing: color" in result.stderr


def test_predict_refuses_a_file_that_is_not_a_saved_model(tmp_path, churn_csv):
    result = _invoke("predict", churn_csv, churn_csv)
    assert result.exit_code == 2
    assert "sidecar churn.csv.json is missing" in result.stderr


def test_meta_model_trained_on_the_fly_is_cached_and_reused(metadb):
    dataset = make_dataset(make_mixed_frame(160, seed=11), target="target")
    first = load_selector("classification", db=metadb)
    second = load_selector("classification", db=metadb)
    assert "cached" not in first.source and "cached" in second.source
    mf = extract_metafeatures(dataset, **first.mf_options)
    row = pd.DataFrame([mf.values], dtype=float)
    pd.testing.assert_frame_equal(first.model.predict(row), second.model.predict(row))
    assert "cached" not in load_selector("classification", db=metadb, exclude=["mixed_0"]).source


def test_a_meta_model_cached_under_another_lightgbm_is_not_reused(metadb, monkeypatch):
    import automl_meta.io.metadb_resolve as resolve

    load_selector("classification", db=metadb, random_state=5)  # trains and caches it, or finds it cached
    assert "cached" in load_selector("classification", db=metadb, random_state=5).source
    monkeypatch.setattr(resolve, "_lightgbm_version", lambda: "99.0.0")  # as after an upgrade
    assert "cached" not in load_selector("classification", db=metadb, random_state=5).source


def test_an_unreadable_meta_feature_cache_entry_is_named_once_and_recomputed(metadb, churn_csv, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("AUTOML_META_CACHE_DIR", str(cache))
    first = _invoke("recommend", churn_csv, "--db", metadb, "--json")
    assert first.exit_code == 0, first.output
    (entry,) = cache.glob("*.json")
    entry.write_text("")
    # a process of its own: its background child (which extracts while the data are read) writes to the same stderr
    result = subprocess.run([sys.executable, "-m", "automl_meta", "recommend", str(churn_csv), "--db", str(metadb), "--json"],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("ignoring unreadable meta-feature cache entry") == 1  # not again in the background child
    assert json.loads(result.stdout)["recommendations"] == json.loads(first.stdout)["recommendations"]
    assert json.loads(entry.read_text())  # written again


def test_an_edited_database_that_kept_its_size_and_time_is_not_answered_from_the_cache(metadb, tmp_path):
    import os
    import shutil
    import sqlite3

    copy = tmp_path / "copy.sqlite"
    shutil.copy(metadb, copy)
    conn = sqlite3.connect(copy)
    conn.execute("PRAGMA journal_mode = DELETE")  # a rollback journal, as a shipped file has: no -wal file beside it
    conn.close()
    load_selector("classification", db=copy)
    assert "cached" in load_selector("classification", db=copy).source
    stamp = copy.stat()
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE scores SET mean = 1.0 WHERE learner_id = (SELECT id FROM learners WHERE name = 'dummy')")
    conn.close()
    os.utime(copy, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # as cp -p or a restored backup leaves it
    assert copy.stat().st_size == stamp.st_size and not copy.with_name("copy.sqlite-wal").exists()
    edited = load_selector("classification", db=copy)
    assert "cached" not in edited.source
    dataset = make_dataset(make_mixed_frame(160, seed=11), target="target")
    row = pd.DataFrame([extract_metafeatures(dataset, **edited.mf_options).values], dtype=float)
    assert edited.model.predict_interval(row)[1]["dummy"].iloc[0] == 1.0  # learned from the edited scores


def test_predict_scores_the_target_column_when_present(metadb, churn_csv, tmp_path):
    from sklearn.metrics import balanced_accuracy_score

    model_path = tmp_path / "winner.skops"
    assert _invoke("recommend", churn_csv, "--db", metadb, "--fit", model_path).exit_code == 0
    labelled = tmp_path / "labelled.csv"
    make_mixed_frame(80, seed=7).to_csv(labelled, index=False)
    result = _invoke("predict", model_path, labelled, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    truth = make_mixed_frame(80, seed=7)["target"]
    assert doc["score"]["metric"] == "balanced_accuracy" and doc["score"]["n_rows"] == 80
    assert doc["score"]["note"] is None  # the key is there, null, when there is nothing to say
    assert math.isclose(doc["score"]["value"], balanced_accuracy_score(truth, doc["predictions"]))
    five = tmp_path / "five.csv"
    make_mixed_frame(80, seed=7).head(5).to_csv(five, index=False)
    table = _invoke("predict", model_path, five)
    assert table.exit_code == 0, table.output
    assert table.stderr.strip() == "all 5 shown"  # was "first 5 of 5 shown; --out FILE writes all"


@pytest.mark.parametrize(("values", "why"), [([1000.0] * 5, "the target column holds one value only"), ([3.0], "fewer than 2 rows")])
def test_a_regression_score_undefined_on_the_rows_says_why(values, why):
    from automl_meta.recommend import target_score

    frame = pd.DataFrame({"x": range(len(values)), "price": values})
    predictions = pd.DataFrame({"prediction": np.linspace(900, 1100, len(values))})
    score = target_score({"target": "price", "metric": "r2", "task": "regression"}, frame, predictions)
    assert score["value"] is None and score["note"] == f"r2 is undefined here ({why}), so there is no score"


def test_every_evaluated_learner_out_of_time_is_named_as_such_with_fit(metadb, churn_csv, tmp_path):
    result = _invoke("recommend", churn_csv, "--db", metadb, "--evaluate-top", 2, "--timeout", 0.001, "--fit", tmp_path / "m.skops")
    assert result.exit_code == 1 and not (tmp_path / "m.skops").exists()
    assert "every evaluated learner ran out of time" in result.stderr and "larger --timeout" in " ".join(result.stderr.split())


def test_fit_timeout_stops_the_final_fit_and_saves_nothing_or_saves_the_same_model(metadb, churn_csv, tmp_path):
    stopped = tmp_path / "stopped.skops"
    result = _invoke("recommend", churn_csv, "--db", metadb, "--fit", stopped, "--fit-timeout", 0.001)
    assert result.exit_code == 1 and not stopped.exists() and not stopped.with_name("stopped.skops.json").exists()
    message = " ".join(result.stderr.split())
    assert "did not finish within 0.001 s" in message and "larger --fit-timeout" in message and "Traceback" not in message

    in_worker, in_process = tmp_path / "worker.skops", tmp_path / "process.skops"
    assert _invoke("recommend", churn_csv, "--db", metadb, "--fit", in_worker, "--fit-timeout", 120).exit_code == 0
    assert _invoke("recommend", churn_csv, "--db", metadb, "--fit", in_process).exit_code == 0
    new = tmp_path / "new.csv"
    make_mixed_frame(40, seed=5).drop(columns="target").to_csv(new, index=False)
    worker_doc, process_doc = (json.loads(_invoke("predict", m, new, "--json").stdout) for m in (in_worker, in_process))
    assert worker_doc["learner"] == process_doc["learner"]
    assert worker_doc["predictions"] == process_doc["predictions"]
    assert worker_doc["probabilities"] == process_doc["probabilities"]

    refused = _invoke("recommend", churn_csv, "--db", metadb, "--fit-timeout", 5)
    assert refused.exit_code == 2 and "add --fit MODEL" in refused.stderr


def test_evaluate_top_says_it_dropped_a_class_too_rare_for_the_folds_and_counts_the_rows_it_used(metadb, tmp_path):
    frame = make_mixed_frame(160, seed=13)
    frame.loc[[0, 1, 2], "target"] = "rare"
    data = tmp_path / "rare.csv"
    frame.to_csv(data, index=False)
    result = _invoke("recommend", data, "--db", metadb, "--evaluate-top", 2, "--no-halving", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    evaluated = [r for r in doc["recommendations"] if r.get("real_status") is not None]
    assert len(evaluated) == 2 and all(r["real_rows"] == 157 for r in evaluated)
    assert doc["evaluation_notes"] == ["dropped 3 rows of classes with fewer rows than the 5 folds: 'rare' (3)"]
    table = _invoke("recommend", data, "--db", metadb, "--evaluate-top", 2, "--no-halving")
    text = " ".join(table.stdout.split())
    assert "note: dropped 3 rows of classes with fewer rows than the 5 folds" in text and " on 157" not in text


def _fit_then_predict(metadb, folder, frame, name, *recommend_options):
    """``recommend --fit`` on ``frame`` written as ``name``.csv, then ``predict --json`` on the same file: (doc, model, data)."""
    data, model_path = folder / f"{name}.csv", folder / f"{name}.skops"
    frame.to_csv(data, index=False)
    assert _invoke("recommend", data, "--db", metadb, *recommend_options, "--fit", model_path).exit_code == 0
    result = _invoke("predict", model_path, data, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), model_path, data


def test_predict_gives_integer_class_labels_back_as_integers(metadb, tmp_path):
    frame = make_mixed_frame(160, seed=12)
    frame["target"] = frame["target"].map({"yes": 7, "no": -2})
    doc, model_path, data = _fit_then_predict(metadb, tmp_path, frame, "codes")
    assert set(doc["predictions"]) <= {7, -2} and all(isinstance(p, int) for p in doc["predictions"])
    assert set(doc["probabilities"]) == {"-2", "7"} and doc["score"]["n_rows"] == 160
    table = _invoke("predict", model_path, data)
    first = next(line for line in table.stdout.splitlines() if line.strip().startswith(("7", "-2")))
    assert first.split()[0] in ("7", "-2")  # not 7.0000


def test_predict_gives_class_codes_with_leading_zeros_back_as_written(metadb, tmp_path):
    frame = make_mixed_frame(160, seed=13)
    frame["target"] = np.where(frame["target"] == "yes", "007", np.where(frame["x1"] > 0, "7", "010"))
    doc, _, _ = _fit_then_predict(metadb, tmp_path, frame, "zeros")
    assert set(doc["probabilities"]) == {"007", "7", "010"}  # 007 and 7 stay two classes
    assert set(doc["predictions"]) <= {"007", "7", "010"} and doc["score"]["value"] > 0.5


def test_predict_shows_float_class_labels_as_written(metadb, tmp_path):
    frame = make_mixed_frame(160, seed=14)
    frame["target"] = frame["target"].map({"yes": 0.12345, "no": 0.12349})
    data = tmp_path / "close.csv"
    frame.to_csv(data, index=False)
    model_path = tmp_path / "close.skops"
    assert _invoke("recommend", data, "--db", metadb, "--task", "classification", "--fit", model_path).exit_code == 0
    table = _invoke("predict", model_path, data)
    shown = {line.split()[0] for line in table.stdout.splitlines() if line.strip().startswith("0.1")}
    assert shown and shown <= {"0.12345", "0.12349"}, table.stdout


def test_shipped_meta_model_is_used_when_it_matches_the_shipped_db(metadb, tmp_path, monkeypatch, caplog):
    """The shipped-artifact path, with the package folder redirected to a copy built here."""
    import shutil

    import automl_meta.meta_db
    from automl_meta.numbers import content_checksum

    shipped = tmp_path / "meta_db"
    shipped.mkdir()
    shutil.copy(metadb, shipped / "metadb.sqlite")
    result = _invoke("selector", "train", "--db", shipped / "metadb.sqlite", "--out", shipped, "--task", "classification")
    assert result.exit_code == 0, result.output
    monkeypatch.setattr(automl_meta.meta_db, "shipped_path", lambda name: shipped / name)

    selector = load_selector("classification")
    assert selector.source == "shipped meta-model" and selector.metric == "balanced_accuracy"

    manifest = shipped / "metamodel_classification.json"
    doc = json.loads(manifest.read_text())
    doc["extra"]["db_sha256"] = "0" * 64  # as if the database had been rebuilt since
    manifest.write_text(json.dumps({**doc, "manifest_sha256": content_checksum(doc, "manifest_sha256")}))
    with caplog.at_level("WARNING"):
        selector = load_selector("classification")
    assert selector.source.startswith("meta-model trained on the fly")
    assert "trained on another version of metadb.sqlite" in caplog.text

    doc = json.loads(manifest.read_text())  # the right database, but trained the way an older release trained it
    doc["extra"].pop("db_sha256")
    doc["training_version"] = "1"
    manifest.write_text(json.dumps({**doc, "manifest_sha256": content_checksum(doc, "manifest_sha256")}))
    assert load_selector("classification").source.startswith("meta-model trained on the fly")


def test_recommend_refuses_a_meta_model_with_foreign_meta_features(metadb):
    from automl_meta.metadb import MetaDB

    with MetaDB.open(metadb) as db:
        meta_X, scores = db.meta_features("classification"), db.scores("balanced_accuracy", "classification")
    foreign = meta_X.set_axis([f"aslib_feature_{i}" for i in range(meta_X.shape[1])], axis=1)
    model = MetaModel(method="per_learner", random_state=0).fit(foreign, scores)
    dataset = make_dataset(make_mixed_frame(100, seed=1), target="target")
    with pytest.raises(MetaDBError, match="none of the meta-model's .* meta-features"):
        recommend(dataset, model, metric="balanced_accuracy", metafeatures=extract_metafeatures(dataset, max_rows=200))


def test_a_winner_fitted_on_true_false_predicts_a_file_with_a_gap_in_that_column(metadb, tmp_path):
    frame = make_mixed_frame(200, seed=2)
    frame.insert(0, "member", frame["target"] == frame["target"].iloc[0])  # a True/False column that decides the target
    data, model = tmp_path / "members.csv", tmp_path / "members.skops"
    frame.to_csv(data, index=False)
    assert _invoke("recommend", data, "--db", metadb, "--fit", model).exit_code == 0
    complete, gap = tmp_path / "complete.csv", tmp_path / "gap.csv"
    new = frame.drop(columns="target").head(20)
    new.to_csv(complete, index=False)
    new.assign(member=new["member"].astype(object).where(new.index != 5)).to_csv(gap, index=False)  # one empty cell
    expected = json.loads(_invoke("predict", model, complete, "--json").stdout)
    result = _invoke("predict", model, gap, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["unseen_categories"] == {}  # not '0' and '1'
    assert [p for i, p in enumerate(json.loads(result.stdout)["predictions"]) if i != 5] == [
        p for i, p in enumerate(expected["predictions"]) if i != 5]


def test_fit_refuses_a_folder_or_the_data_file_before_any_work(metadb, churn_csv, tmp_path):
    before = churn_csv.read_bytes()
    for target, message in ((tmp_path, "is a folder; give a file name, e.g. model.skops"), (churn_csv, "is the data; writing there would replace it")):
        result = _invoke("recommend", churn_csv, "--db", metadb, "--fit", target, "--json")
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.stderr.split()) and result.stdout == ""  # nothing ranked, nothing fitted
    assert churn_csv.read_bytes() == before


def test_fit_refuses_the_meta_database_and_a_sidecar_over_the_data_before_any_work(metadb, churn_csv, tmp_path):
    import shutil

    db = tmp_path / "my.sqlite"
    shutil.copy(metadb, db)
    data = tmp_path / "model.json"  # the sidecar of --fit model would land on it
    shutil.copy(churn_csv, data)
    before = (db.read_bytes(), data.read_bytes())
    for args, message in (((churn_csv, "--db", db, "--fit", db), "is the meta-database; writing there would replace it"),
                          ((data, "--db", db, "--fit", tmp_path / "model"), "model.json: is the data; writing there would replace it")):
        result = _invoke("recommend", *args, "--json")
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.stderr.split()) and result.stdout == ""
    assert (db.read_bytes(), data.read_bytes()) == before


def test_fit_of_a_many_class_winner_spills_no_library_warning(metadb, tmp_path):
    rng = np.random.default_rng(4)
    data = tmp_path / "names.csv"
    pd.DataFrame({"x": rng.normal(size=30), "z": rng.normal(size=30), "name": [f"n{i // 2}" for i in range(30)]}).to_csv(data, index=False)
    with warnings.catch_warnings(record=True) as caught:  # in this process a warning is recorded, not printed
        warnings.simplefilter("always")
        result = _invoke("recommend", data, "--db", metadb, "--fit", tmp_path / "n.skops", "--json")
    assert result.exit_code == 0, result.output
    assert not caught and "Warning" not in result.stderr, [str(w.message) for w in caught]


def test_predict_scores_a_target_with_labels_the_model_never_had_with_a_note(metadb, churn_csv, tmp_path):
    model = tmp_path / "churn.skops"
    assert _invoke("recommend", churn_csv, "--db", metadb, "--fit", model).exit_code == 0
    frame = pd.read_csv(churn_csv).head(40)
    target = json.loads(model.with_name("churn.skops.json").read_text())["target"]
    relabelled = tmp_path / "relabelled.csv"
    frame.assign(**{target: ["maybe"] * 40}).to_csv(relabelled, index=False)
    result = _invoke("predict", model, relabelled, "--json")
    assert result.exit_code == 0, result.output
    score = json.loads(result.stdout)["score"]
    assert score["value"] == 0.0 and "labels the model never had ('maybe')" in score["note"]
    assert "Warning" not in result.stderr  # scikit-learn's own remarks stay out of the output
    table = _invoke("predict", model, relabelled)
    assert "note: the target column holds labels the model never had" in " ".join(table.stdout.split())


def test_measured_status_is_the_stored_evaluations_and_reaches_the_frame_too():
    # a timeout and a pair never evaluated were both called "failed", and to_frame() had no status at all
    from automl_meta.recommend import RankedLearner, Recommendation, with_measured

    ranking = tuple(RankedLearner(rank=i + 1, learner=name, predicted_score=0.5) for i, name in enumerate(["a", "b", "c", "d"]))
    rec = Recommendation(dataset="x", task="classification", target="t", metric="m", maximize=True, ranking=ranking)
    known = with_measured(rec, "stored_x", {"a": 0.9}, {"a": "ok", "b": "timeout", "c": "failed"})
    expected = {"a": "ok", "b": "timeout", "c": "failed", "d": "not stored"}
    assert {r["learner"]: r["measured_status"] for r in known.as_dict()["recommendations"]} == expected
    assert known.to_frame().set_index("learner")["measured_status"].to_dict() == expected
    assert rec.to_frame()["measured_status"].isna().all()  # data the database does not hold: no status


def test_data_the_db_holds_under_the_other_task_are_pointed_out(metadb, caplog):
    # 1027_ESL read as classes by --task auto: not recognised, with nothing to say why
    from automl_meta.io.metadb_resolve import stored_scores

    frame = pd.read_csv(metadb.parent / "data" / "synth_1.csv")
    as_numbers = frame.assign(target=np.arange(len(frame), dtype=float))
    dataset = make_dataset(as_numbers, target="target", task="regression", name="synth_1")
    with caplog.at_level("WARNING", logger="automl_meta"):
        assert stored_scores(metadb, dataset, "r2") is None
    assert "holds a dataset 'synth_1' of this shape as classification, not regression: if these are its data, pass --task " \
           "classification" in caplog.text


def test_an_upper_bound_on_a_loss_reads_at_least(metadb, churn_csv, tmp_path):
    # "≤ 0.61" on a loss said the learner would do at least that well, where the model knows only that it does worse
    import shutil

    from automl_meta.metadb import MetaDB

    copy = tmp_path / "loss.sqlite"
    shutil.copy(metadb, copy)
    with MetaDB.open(copy, readonly=False) as db:
        db.set_meta("default_metric", {**db.get_meta("default_metric"), "classification": "log_loss"})  # a loss to rank by
    result = _invoke("recommend", churn_csv, "--db", copy, "--top", 6)
    assert result.exit_code == 0, result.output
    assert "≥ " in result.stdout and "≤ " not in result.stdout and "log_loss (lower is better)" in result.stdout
    doc = json.loads(_invoke("recommend", churn_csv, "--db", copy, "--json").stdout)
    bounds = {r["predicted_bound"] for r in doc["recommendations"] if r["predicted_at_most"]}
    assert bounds == {"at least"} and all(r["predicted_bound"] is None for r in doc["recommendations"] if not r["predicted_at_most"])


def test_the_meta_model_cache_keeps_the_most_recently_used_ones(tmp_path):
    # a new pair of files a database version, never removed: 38 MB each at 10,000 datasets
    import os

    from automl_meta.io.metadb_resolve import _prune_cache

    for i in range(20):
        for suffix in (".json", ".lgb.txt"):
            (tmp_path / f"k{i:02d}{suffix}").write_text("x")
        os.utime(tmp_path / f"k{i:02d}.json", (1_000_000 + i, 1_000_000 + i))
    os.utime(tmp_path / "k00.json")  # used just now
    _prune_cache(tmp_path, keep=16)
    kept = sorted(p.name for p in tmp_path.glob("*.json"))
    assert kept == ["k00.json", *(f"k{i:02d}.json" for i in range(5, 20))]
    assert sorted(p.name for p in tmp_path.glob("*.lgb.txt")) == [k.replace(".json", ".lgb.txt") for k in kept]


def test_a_cold_recommend_on_a_database_says_it_trains_the_meta_model_and_a_warm_one_does_not(metadb, churn_csv, tmp_path, monkeypatch):
    # 10-25 s of silence on a 10,000-dataset database before the table
    monkeypatch.setenv("AUTOML_META_CACHE_DIR", str(tmp_path / "cache"))
    cold, warm = (_invoke("recommend", churn_csv, "--db", metadb) for _ in range(2))
    assert cold.exit_code == warm.exit_code == 0, cold.output
    said = " ".join(cold.stderr.split())
    assert f"training the meta-model on 6 datasets of {metadb.name} (cached for the next call)" in said, said
    assert "training the meta-model" not in warm.stderr
    monkeypatch.setenv("AUTOML_META_CACHE_DIR", str(tmp_path / "cache2"))
    assert "training the meta-model" not in _invoke("recommend", churn_csv, "--db", metadb, "--json").stderr
