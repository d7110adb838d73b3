"""File, column and class names that look like rich markup are printed as they are, never parsed as markup."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from conftest import make_mixed_frame

runner = CliRunner()


@pytest.fixture
def markup_csv(tmp_path):
    frame = make_mixed_frame(120, seed=5).rename(columns={"color": "[b]color"})
    frame["target"] = frame["target"].map({"yes": "[bold]yes", "no": "no"})
    frame.loc[0, "target"] = "[/high]"  # a class of one row: evaluate drops it with a note that names it
    path = tmp_path / "run[bold]x.csv"
    frame.to_csv(path, index=False)
    return path


def test_markup_in_file_column_and_class_names_is_printed_verbatim(markup_csv, tmp_path):
    evaluated = runner.invoke(app, ["evaluate", str(markup_csv), "--learners", "dummy,lda", "--cv", "2"])
    assert evaluated.exit_code == 0, evaluated.stderr  # was MarkupError (exit 1) on the note, after all the work
    assert evaluated.stdout.startswith("run[bold]x: classification")
    assert "a single row: '[/high]'" in evaluated.stdout  # the class name verbatim in the note

    described = runner.invoke(app, ["metafeatures", str(markup_csv), "--groups", "general"])
    assert described.exit_code == 0, described.stderr
    assert described.stdout.startswith("run[bold]x: 120 rows") and "categorical: [b]color" in described.stdout

    model = tmp_path / "m[bold].skops"
    ranked = runner.invoke(app, ["recommend", str(markup_csv), "--fit", str(model)])
    assert ranked.exit_code == 0, ranked.stderr
    assert ranked.stdout.startswith("run[bold]x: 120 rows")
    assert "m[bold].skops" in ranked.stdout.replace("\n", "")  # the saved model's path, however it wraps

    predicted = runner.invoke(app, ["predict", str(model), str(markup_csv)])
    assert predicted.exit_code == 0, predicted.stderr
    assert "[bold]yes" in predicted.stdout and "proba_[/high]" in predicted.stdout.replace("\n", "")


def test_control_characters_in_names_are_spelt_out_not_sent_to_the_terminal(tmp_path):
    # a class label or column name with an escape sequence recoloured (or cleared) the user's terminal
    frame = make_mixed_frame(120, seed=5).rename(columns={"color": "co\x1b[2Jlor"})
    frame["target"] = frame["target"].map({"yes": "p\x1b[31m", "no": "q"})
    data = tmp_path / "esc.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "m.skops"
    ranked = runner.invoke(app, ["recommend", str(data), "--top", "1", "--fit", str(model)])
    assert ranked.exit_code == 0, ranked.output
    predicted = runner.invoke(app, ["predict", str(model), str(data)])
    described = runner.invoke(app, ["metafeatures", str(data), "--groups", "general"])
    for result in (ranked, predicted, described):
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output
    assert "p\\x1b[31m" in predicted.stdout.replace("\n", "")
    assert "co\\x1b[2Jlor" in described.stdout
    as_json = runner.invoke(app, ["predict", str(model), str(data), "--json"])
    assert "p\x1b[31m" in __import__("json").loads(as_json.stdout)["predictions"]  # the data itself, unchanged
