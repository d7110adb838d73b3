"""Meta-features extracted in a forked child while the parent works (what `recommend` overlaps)."""

from __future__ import annotations

import os

import pytest

from automl_meta.dataset import make_dataset
from automl_meta.exceptions import UsageError
from automl_meta.io.mf_background import BackgroundMetaFeatures
from automl_meta.io.mf_cache import cached_metafeatures
from automl_meta.metafeatures import extract_metafeatures
from conftest import make_mixed_frame

pytestmark = pytest.mark.skipif(not BackgroundMetaFeatures.available(), reason="needs os.fork on Linux")
FAST = dict(max_rows=150, random_state=0)


@pytest.fixture(scope="module")
def dataset():
    return make_dataset(make_mixed_frame(240, seed=3), target="target")


def _reaped(background: BackgroundMetaFeatures) -> bool:
    assert background._pid is not None  # a child was started
    try:
        os.waitpid(background._pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_child_result_equals_in_process_extraction_and_fills_the_cache(tmp_path, dataset):
    with BackgroundMetaFeatures(lambda: cached_metafeatures(dataset, cache_dir=tmp_path, **FAST)) as background:
        parent_work = sum(range(1000))  # the parent is free meanwhile
    assert parent_work == 499500
    inline = extract_metafeatures(dataset, **FAST)
    assert background.result is not None
    assert background.result.values == inline.values
    assert not background.result.cached and background.result.seconds > 0
    assert cached_metafeatures(dataset, cache_dir=tmp_path, **FAST).cached  # the child wrote the entry
    assert _reaped(background)


def test_error_in_the_block_kills_and_reaps_the_child(tmp_path, dataset):
    background = BackgroundMetaFeatures(lambda: cached_metafeatures(dataset, cache_dir=tmp_path, **FAST))
    with pytest.raises(RuntimeError, match="parent failed"):
        with background:
            raise RuntimeError("parent failed")
    assert _reaped(background)
    assert not list(tmp_path.glob("*.json"))  # killed before it could write anything


def test_failing_child_leaves_no_result_and_in_process_reports_the_error(tmp_path, dataset):
    bad = dict(max_rows=0, random_state=0)
    with BackgroundMetaFeatures(lambda: cached_metafeatures(dataset, cache_dir=tmp_path, **bad)) as background:
        pass
    assert background.result is None
    with pytest.raises(UsageError, match="max_rows"):
        cached_metafeatures(dataset, cache_dir=tmp_path, **bad)
    assert _reaped(background)


def test_disabled_runs_nothing(tmp_path, dataset):
    with BackgroundMetaFeatures(lambda: cached_metafeatures(dataset, cache_dir=tmp_path, **FAST), enabled=False) as background:
        pass
    assert background.result is None and background._pid is None
    assert not list(tmp_path.iterdir())


def test_collector_paused_covers_the_block_and_the_forked_child(tmp_path, dataset):
    import gc

    from automl_meta.cli._common import collector_paused

    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    try:
        with collector_paused():
            assert not gc.isenabled()
            def job():  # returns True, which the parent cannot read as meta-features, if the collector runs
                return gc.isenabled() or cached_metafeatures(dataset, cache_dir=tmp_path, **FAST)

            with BackgroundMetaFeatures(job) as background:
                pass
            with pytest.raises(ValueError):
                with collector_paused():  # nested and left by an exception: the outer pause holds
                    raise ValueError
            assert not gc.isenabled()
        assert gc.isenabled()  # switched back on
        assert gc.get_freeze_count() > frozen_before  # what was alive is out of later collections' way
        assert background.result is not None  # the child ran with the collector off (else its job returned True)
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_child_prepares_then_extracts_what_the_parent_sends(tmp_path, dataset):
    marker = tmp_path / "prepared"

    def prepare():  # runs in the child before anything is sent
        marker.write_text("yes")

    def job(received):
        assert marker.read_text() == "yes"
        return cached_metafeatures(received, cache_dir=tmp_path / "cache", **FAST)

    with BackgroundMetaFeatures(job, prepare=prepare, receives=True) as background:
        assert background.running
        background.send(dataset)
    assert not background.running
    assert background.result is not None
    assert background.result.values == extract_metafeatures(dataset, **FAST).values
    assert cached_metafeatures(dataset, cache_dir=tmp_path / "cache", **FAST).cached
    assert _reaped(background)


def test_nothing_sent_or_cancelled_leaves_no_result_and_reaps_the_child(tmp_path, dataset):
    def job(received):
        return cached_metafeatures(received, cache_dir=tmp_path, **FAST)

    with BackgroundMetaFeatures(job, receives=True) as silent:
        pass  # never sends: the child reads end-of-file
    assert silent.result is None and _reaped(silent)
    with BackgroundMetaFeatures(job, receives=True) as cancelled:
        cancelled.cancel()
        assert not cancelled.running
        cancelled.send(dataset)  # too late: ignored
    assert cancelled.result is None and _reaped(cancelled)
    assert not list(tmp_path.iterdir())


def test_cache_lookup_finds_only_what_was_stored(tmp_path, dataset):
    from automl_meta.io.mf_cache import cache_lookup

    assert cache_lookup(dataset, cache_dir=tmp_path, **FAST) is None
    stored = cached_metafeatures(dataset, cache_dir=tmp_path, **FAST)
    hit = cache_lookup(dataset, cache_dir=tmp_path, **FAST)
    assert hit.cached and hit.values == stored.values
    assert cache_lookup(dataset, cache_dir=tmp_path, max_rows=100, random_state=0) is None  # other options


def test_what_cannot_be_pickled_is_not_sent_and_leaves_no_result(tmp_path):
    with BackgroundMetaFeatures(lambda received: received, receives=True) as background:
        background.send(lambda: None)  # a lambda does not pickle: no error here, the caller extracts itself
    assert background.result is None and _reaped(background)


def test_the_childs_warnings_are_emitted_by_the_parent_and_its_debug_lines_are_not(tmp_path, dataset, caplog):
    import logging

    def job():
        logging.getLogger("automl_meta.io.mf_cache").warning("cannot write the cache in %s", "/nowhere")
        logging.getLogger("automl_meta.io.mf_cache").debug("a detail")
        return cached_metafeatures(dataset, cache_dir=tmp_path, **FAST)

    with caplog.at_level(logging.DEBUG):
        with BackgroundMetaFeatures(job) as background:
            pass
    assert background.result is not None
    relayed = [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name == "automl_meta.io.mf_cache"]
    assert relayed == [("automl_meta.io.mf_cache", logging.WARNING, "cannot write the cache in /nowhere")]


def test_an_error_after_sending_kills_the_child_and_ends_the_writer(tmp_path, dataset):
    def job(received):
        return cached_metafeatures(received, cache_dir=tmp_path, **FAST)

    background = BackgroundMetaFeatures(job, prepare=lambda: __import__("time").sleep(0.5), receives=True)
    with pytest.raises(RuntimeError, match="parent failed"):
        with background:
            background.send(list(range(2_000_000)))  # more than a pipe holds: the writer blocks until killed
            raise RuntimeError("parent failed")
    assert _reaped(background) and not background._writer.is_alive()
    assert background.result is None and not list(tmp_path.iterdir())
