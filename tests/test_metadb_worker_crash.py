"""A unit that kills its worker process is reported as lost; every other unit still runs (real loky pool)."""

from __future__ import annotations

import os

from automl_meta.metadb.parallel import JoblibExecutor, SerialExecutor, WorkerLost, map_surviving_crashes


def square_or_die(x: int) -> int:
    if x == 3:
        os._exit(1)  # what the OOM killer or a segfault in native code looks like from outside
    return x * x


def test_the_unit_that_kills_its_worker_is_lost_and_the_others_finish():
    executor = JoblibExecutor(n_jobs=2)
    try:
        results = dict(map_surviving_crashes(executor, square_or_die, [(x, (x,)) for x in range(10)]))
    finally:
        executor.close()
    assert sorted(results) == list(range(10))
    assert isinstance(results[3], WorkerLost) and "worker process died" in results[3].reason
    assert {k: v for k, v in results.items() if k != 3} == {x: x * x for x in range(10) if x != 3}


def test_a_dask_cluster_without_a_worker_stops_the_map_with_a_clear_error(monkeypatch):
    import pytest
    from distributed import Client, LocalCluster

    from automl_meta.metadb import parallel

    monkeypatch.setattr(parallel, "NO_WORKER_S", 1.0)
    cluster = LocalCluster(n_workers=0, processes=False, dashboard_address=None)
    executor = JoblibExecutor(client=Client(cluster), cluster=cluster)
    try:
        with pytest.raises(parallel.NoWorkerError, match="the Dask cluster has had no worker for 1 s; what finished is stored"):
            list(executor.map_unordered(abs, [(x, (x,)) for x in range(4)]))
    finally:
        executor.close()


def test_without_crashes_it_is_map_unordered():
    results = dict(map_surviving_crashes(SerialExecutor(), lambda x: x + 1, [(x, (x,)) for x in range(4)]))
    assert results == {0: 1, 1: 2, 2: 3, 3: 4}


def test_lost_units_are_stored_as_failures_with_their_reason(tmp_path):
    from automl_meta.metadb import MetaDB
    from automl_meta.metadb.units import METAFEATURES, lost_unit_record

    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        ds = db.add_dataset({"name": "big", "task": "classification", "source": "test", "n_rows": 10})
        learner = db.add_learner("knn", "classification", {}, "test")
        mf = lost_unit_record(METAFEATURES, "its worker process died")
        db.add_meta_features(ds, mf["values"], mf["extractor_version"], seconds=mf["seconds"], n_rows_used=mf["n_rows_used"],
                             groups=mf["groups"], status=mf["status"], reason=mf["reason"])
        ev = lost_unit_record("knn", "its worker process died")
        db.add_evaluation(ds, learner, ev["status"], ev["scores"], reason=ev["reason"], fit_seconds=ev["fit_seconds"],
                          predict_seconds=ev["predict_seconds"])
        stored = db.evaluations("classification")
        assert list(stored["status"]) == ["failed"] and "worker process died" in stored["reason"].iloc[0]
        assert db.has_meta_features(ds)  # recorded: a resumed build does not run it again
