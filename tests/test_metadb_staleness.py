"""Commands that only read a meta-database say what it holds that this automl-meta would compute otherwise."""

import json
import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.metafeatures import EXTRACTOR_VERSION
from conftest import SIX_TABLE_LEARNERS, build_six_table_db, make_mixed_frame

runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_six_table_db(tmp_path_factory.mktemp("stale"))


@pytest.fixture
def copy(built, tmp_path):
    path = tmp_path / "meta.sqlite"
    shutil.copy(built[1], path)
    return path


@pytest.fixture
def query(tmp_path):
    path = tmp_path / "query.csv"
    make_mixed_frame(150, seed=21).to_csv(path, index=False)
    return path


def _edit(path, *statements):
    with sqlite3.connect(path) as conn:
        for sql in statements:
            conn.execute(sql)


def _recommend(query, db):
    return runner.invoke(app, ["recommend", str(query), "--db", str(db), "--json"])


def test_a_current_database_gets_no_warning(built, query):
    result = _recommend(query, built[1])
    assert result.exit_code == 0, result.stderr
    assert "extractor version" not in result.stderr and "older definition" not in result.stderr and "pymfe" not in result.stderr


def test_meta_features_of_an_older_extractor_are_named_with_the_command_that_recomputes_them(copy, query):
    older = str(int(EXTRACTOR_VERSION) - 2)
    _edit(copy, f"UPDATE mf_runs SET extractor_version = '{older}'", f"UPDATE meta_features SET extractor_version = '{older}'")
    result = _recommend(query, copy)
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stderr.split())
    assert f"the meta-features of 6 classification dataset(s) (mixed_0, mixed_1, mixed_2, synth_0, synth_1 and 1 more) come from extractor version {older}, not this automl-meta's {EXTRACTOR_VERSION}" in text
    assert "to recompute them run: automl-meta db build --source dir:" in text and f"--db {copy} " in text
    assert text.rstrip().endswith("--redo metafeatures")
    evaluated = runner.invoke(app, ["selector", "evaluate", "--db", str(copy), "--seeds", "1", "--bootstrap", "10", "--json"])
    assert f"come from extractor version {older}" in " ".join(evaluated.stderr.split())


def test_meta_features_of_a_newer_extractor_ask_for_an_upgrade_not_a_recompute(copy, query):
    newer = str(int(EXTRACTOR_VERSION) + 1)
    _edit(copy, f"UPDATE mf_runs SET extractor_version = '{newer}'")
    text = " ".join(_recommend(query, copy).stderr.split())
    assert f"come from extractor version {newer}" in text and "written by a newer automl-meta: upgrade automl-meta" in text
    assert "--redo metafeatures" not in text


def test_scores_of_an_older_learner_definition_are_named_with_the_command_that_recomputes_them(copy, query):
    learner = SIX_TABLE_LEARNERS[0]
    _edit(copy, "UPDATE evaluations SET protocol = json_set(protocol, '$.learner_version', '0')"
                f" WHERE learner_id = (SELECT id FROM learners WHERE name = '{learner}')",
          "UPDATE builds SET versions = json_set(versions, '$.portfolio', '0')")  # as an old build recorded them
    text = " ".join(_recommend(query, copy).stderr.split())
    assert f"classification: the scores of {learner} on 6 dataset(s)" in text and "older definitions of that learner" in text
    assert f"--redo {learner}" in text
    _edit(copy, "UPDATE evaluations SET protocol = json_set(protocol, '$.learner_version', '0')")  # every learner's, as a
    lines = [line for line in _recommend(query, copy).stderr.splitlines() if "older definitions" in line]  # scoring change
    assert len(lines) == 1 and f"--redo {','.join(sorted(SIX_TABLE_LEARNERS))}" in lines[0]  # one line, one command


def test_a_learner_this_version_does_not_have_is_left_out_of_the_ranking(copy, query):
    learner = SIX_TABLE_LEARNERS[0]
    _edit(copy, f"UPDATE learners SET name = 'renamed_since' WHERE name = '{learner}'")
    result = _recommend(query, copy)
    assert result.exit_code == 0, result.stderr
    assert "learner(s) renamed_since are not in this automl-meta" in " ".join(result.stderr.split())
    ranked = [r["learner"] for r in json.loads(result.stdout)["recommendations"]]
    assert "renamed_since" not in ranked and len(ranked) == len(SIX_TABLE_LEARNERS) - 1


def test_meta_features_extracted_with_another_pymfe_are_named(copy, query):
    from importlib.metadata import version

    from automl_meta.metadb import MetaDB

    with MetaDB.open(copy, readonly=False) as db:  # an import recording another pymfe, which extracted nothing
        build = db.start_build("aslib:S", None, {"pymfe": "0.3.0"})
        db.add_meta_features(db.add_dataset({"name": "i1", "task": "aslib:S", "source": "aslib:S"}, build), {"f": 1.0}, "aslib:S")
        db.finish_build(build)
    assert "pymfe" not in _recommend(query, copy).stderr
    _edit(copy, "UPDATE builds SET versions = json_set(versions, '$.pymfe', '0.4.2') WHERE source NOT LIKE 'aslib:%'")
    text = " ".join(_recommend(query, copy).stderr.split())
    assert f"the classification meta-features were extracted with pymfe 0.4.2, and none with the installed pymfe {version('pymfe')}" in text
    assert "install pymfe==0.4.2" in text and "0.3.0" not in text
    with MetaDB.open(copy, readonly=False) as db:  # a later build of the same folder (as --redo metafeatures) under this pymfe
        source = db.datasets("classification")["source"].iloc[0]
        db.finish_build(db.start_build(source, None, {"pymfe": version("pymfe")}))
    assert "pymfe" not in _recommend(query, copy).stderr  # it stored no dataset, yet may have extracted them all


def test_db_info_lists_what_is_stale(copy, built):
    assert json.loads(runner.invoke(app, ["db", "info", "--db", str(built[1]), "--json"]).stdout)["stale"] == []
    older = str(int(EXTRACTOR_VERSION) - 1)
    _edit(copy, f"UPDATE mf_runs SET extractor_version = '{older}'")
    doc = json.loads(runner.invoke(app, ["db", "info", "--db", str(copy), "--json"]).stdout)
    assert len(doc["stale"]) == 1 and f"come from extractor version {older}" in doc["stale"][0]
    text = " ".join(runner.invoke(app, ["db", "info", "--db", str(copy)], terminal_width=200).stdout.split())
    assert "stale: the meta-features of 6 classification dataset(s)" in text


def test_a_database_none_of_whose_learners_this_version_has_says_so(copy, query):
    _edit(copy, "UPDATE learners SET name = name || '_old'")
    result = _recommend(query, copy)
    assert result.exit_code == 2  # was "has no classification datasets with balanced_accuracy scores"
    assert "none of the meta-database" in result.stderr and "use the automl-meta that wrote it" in " ".join(result.stderr.split())
