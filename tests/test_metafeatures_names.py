"""The written-down pymfe output names agree with a real pymfe reference run."""

from __future__ import annotations

import pymfe
import pytest

from automl_meta.metafeatures.groups import DEFAULT_GROUPS, DEFAULT_SUMMARY, resolve_groups, resolve_summary
from automl_meta.metafeatures.known_names import KNOWN_TEMPLATES, PYMFE_VERSION
from automl_meta.metafeatures.pymfe_run import reference_names, template_names


@pytest.mark.parametrize("key", sorted(KNOWN_TEMPLATES))
def test_known_template_matches_a_reference_run(key):
    groups, summary = key
    assert (resolve_groups(groups), resolve_summary(summary)) == key  # keys are what the extractor asks for
    if pymfe.__version__ != PYMFE_VERSION:
        pytest.skip(f"the table is for pymfe {PYMFE_VERSION}; {pymfe.__version__} is installed (the table is unused)")
    assert KNOWN_TEMPLATES[key] == reference_names(groups, summary)


def test_default_extraction_uses_the_table_and_others_the_reference_run():
    default = (resolve_groups(None), resolve_summary(DEFAULT_SUMMARY))
    assert default == (DEFAULT_GROUPS, DEFAULT_SUMMARY)
    if pymfe.__version__ == PYMFE_VERSION:
        assert template_names(*default) is KNOWN_TEMPLATES[default]
    other = (resolve_groups("general"), resolve_summary(("mean",)))
    assert other not in KNOWN_TEMPLATES
    names = template_names(*other)
    assert names == reference_names(*other)
    assert "nr_inst" in names and not any(n.endswith(".sd") for n in names)


@pytest.mark.parametrize("groups", [(g,) for g in DEFAULT_GROUPS] + [tuple(g for g in DEFAULT_GROUPS if g != "landmarking")])
def test_names_of_some_of_the_default_groups_come_from_the_table_as_a_reference_run_gives_them(groups):
    if pymfe.__version__ != PYMFE_VERSION:
        pytest.skip(f"the table is for pymfe {PYMFE_VERSION}; {pymfe.__version__} is installed (the table is unused)")
    assert (groups, DEFAULT_SUMMARY) not in KNOWN_TEMPLATES
    assert template_names(groups, DEFAULT_SUMMARY) == reference_names(groups, DEFAULT_SUMMARY)


def test_relative_group_names_are_the_landmarking_names_with_relative():
    landmarking = template_names(("landmarking",), DEFAULT_SUMMARY)
    assert template_names(("relative",), DEFAULT_SUMMARY) == tuple(f"{n}.relative" for n in landmarking)
    every = template_names(resolve_groups("all"), DEFAULT_SUMMARY)
    assert set(landmarking) <= set(every) and {f"{n}.relative" for n in landmarking} <= set(every)
