"""The meta-database shipped in automl_meta/meta_db: what `db info` promises about it."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.meta_db import shipped_path
from automl_meta.metadb import SCHEMA_VERSION, MetaDB, schema

PATH = shipped_path("metadb.sqlite")
MANIFEST = shipped_path("MANIFEST.json")


@pytest.fixture(scope="module")
def info() -> dict:
    result = CliRunner().invoke(app, ["db", "info", "--json"])  # no --db: the shipped file
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_shipped_metadb_covers_the_pmlb_corpus(info):
    assert info["n_datasets"] >= 120
    assert set(info["tasks"]) == {"classification", "regression"}
    for task in info["tasks"].values():
        assert task["n_learners"] >= 12
        assert task["n_meta_features"] > 50


def test_every_shipped_pair_is_evaluated_or_has_a_reason(info):
    assert info["n_missing_pairs"] == 0
    with MetaDB.open(PATH) as db:
        evaluations = db.evaluations()
        not_ok = evaluations[evaluations["status"] != "ok"]
        assert not_ok["reason"].fillna("").str.len().gt(0).all()
        assert db.meta_features().shape[0] == info["n_datasets"]


def test_shipped_file_is_small_of_a_readable_schema_and_readable_without_write_access():
    assert PATH.stat().st_size < 5_000_000
    with sqlite3.connect(f"{PATH.resolve().as_uri()}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert schema.OLDEST_READABLE <= conn.execute("PRAGMA user_version").fetchone()[0] <= SCHEMA_VERSION
    with MetaDB.open(PATH) as db:  # read as it is, without a migration
        assert db.info()["n_datasets"] > 100


def test_manifest_lists_the_datasets_of_the_shipped_file():
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    with MetaDB.open(PATH) as db:
        names = set(db.datasets(include_failed=True)["name"])
        assert manifest["schema_version"] == db.info()["schema_version"]
    assert {d["name"] for d in manifest["datasets"]} == names
    assert manifest["versions"]["portfolio"] and manifest["versions"]["extractor"]
    assert manifest["builds"][0]["command"].startswith("automl-meta db build --source dir:")


@pytest.mark.parametrize("name", ["collins", "mfeat_pixel", "analcatdata_authorship", "_deprecated_auto", "1027_ESL"])
def test_stored_content_hash_is_what_the_loader_gives_for_the_corpus_file(pmlb_dir, name):
    """A loader change that alters a dataset's hash must come with a re-hash (or a rebuild) of the shipped file."""
    from automl_meta.metadb.build_dir import dir_refs
    from automl_meta.metadb.units import load_ref

    ref = next(r for r in dir_refs(pmlb_dir) if r.name == name)
    dataset, _ = load_ref(ref)
    with MetaDB.open(PATH) as db:
        stored = db.datasets().set_index("name").loc[name]
    assert (stored["task"], stored["n_rows"], stored["n_features"]) == (dataset.task, len(dataset.X), dataset.X.shape[1])
    assert stored["content_hash"] == dataset.content_hash()
