"""Rank the candidate learners for a data file, the meta-features extracted beside the meta-model's loading.

A forked child (:class:`~automl_meta.io.mf_background.BackgroundMetaFeatures`)
imports pymfe while this process reads the data; it gets the data from here
and extracts the meta-features while this process imports LightGBM and loads
the meta-model: two cores, half the wait. On larger samples this process then
extracts the groups other than landmarking itself and joins the two halves
(:mod:`~automl_meta.metafeatures.combine`). A vector found in the cache stops
the child at once. Not for big files: two copies in memory.
"""

from __future__ import annotations

from pathlib import Path

BACKGROUND_MAX_BYTES = 200 * 2**20  # the meta-features are extracted in a forked child up to this file size


def rank_file(
    data: Path, target: str | None = None, task: str = "auto", sep: str | None = None, day_first: bool | None = None,
    db: str | Path | None = None, random_state: int = 0, explain: int = 0, on_training=None,
):
    """Read ``data``, extract its meta-features and rank the portfolio: ``(dataset, selector, recommendation)``.

    ``db`` is a meta-database (default: the shipped one); ``explain`` the
    number of top learners whose LightGBM contributions are kept; ``on_training`` as
    :func:`~automl_meta.io.metadb_resolve.load_selector` takes it.
    """
    from automl_meta.io.mf_background import BackgroundMetaFeatures

    def warm_up():  # in the child, while this process reads the data
        from automl_meta.io.mf_cache import cached_metafeatures  # noqa: F401 - imports pandas, numpy
        from automl_meta.metafeatures.groups import mfe_class

        mfe_class()  # pymfe and scikit-learn, without matplotlib

    def metafeatures_job(work):
        from automl_meta.io.mf_cache import cached_metafeatures
        from automl_meta.metafeatures import extract_metafeatures

        # the database's extraction options, read here once; groups: the child's share of a split, else None
        dataset, options, groups = work
        return cached_metafeatures(dataset, **options) if groups is None else extract_metafeatures(dataset, **{**options, "groups": groups})

    data = Path(data)
    small = data.is_file() and data.stat().st_size <= BACKGROUND_MAX_BYTES
    with BackgroundMetaFeatures(metafeatures_job, enabled=small, prepare=warm_up, receives=True) as background:
        from automl_meta.io import load_dataset
        from automl_meta.io.metadb_resolve import db_mf_options, load_selector, stored_scores
        from automl_meta.io.mf_cache import cache_lookup
        from automl_meta.metafeatures.combine import two_way_split

        dataset = load_dataset(data, target=target, task=task, sep=sep, day_first=day_first)
        options = db_mf_options(db)
        metafeatures = cache_lookup(dataset, **options)
        split = None
        if metafeatures is None:
            split = two_way_split(dataset, options.get("groups"), options.get("max_rows")) if background.running else None
            background.send((dataset, options, split[0] if split else None))
        else:  # seen before: the child is not needed
            background.cancel()
        selector = load_selector(dataset.task, db=db, random_state=random_state, on_training=on_training)
        known = stored_scores(selector.db_path, dataset, selector.metric)  # while the child still extracts
        if split:
            from automl_meta.metafeatures import extract_metafeatures

            ours = extract_metafeatures(dataset, **{**options, "groups": split[1]})
    from automl_meta.api import rank_dataset

    if metafeatures is None:
        metafeatures = background.result  # None if the child failed: rank_dataset extracts here
        if split and metafeatures is not None:
            from automl_meta.io.mf_cache import cache_store
            from automl_meta.metafeatures.combine import combine_metafeatures

            metafeatures = combine_metafeatures([metafeatures, ours])
            cache_store(dataset, metafeatures, **options)
    return dataset, selector, rank_dataset(dataset, selector, metafeatures, explain=explain, known=known)
