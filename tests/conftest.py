"""Shared fixtures: the ../shared folder beside the checkout, and small synthetic data."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUTOML_META_SHARED", REPO.parent / "shared"))

# Parallel jobs in tests must not spin on OpenMP with 2 cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout; tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(f"needs the shared data folder {SHARED.name}/ beside the checkout (absent in a user's clone)")
    return SHARED


@pytest.fixture(scope="session")
def pmlb_dir(shared_dir: Path) -> Path:
    path = shared_dir / "datasets" / "pmlb"
    if not path.is_dir():
        pytest.skip("needs ../shared/datasets/pmlb")
    return path


@pytest.fixture(scope="session")
def aslib_dir(shared_dir: Path) -> Path:
    path = shared_dir / "aslib"
    if not path.is_dir():
        pytest.skip("needs ../shared/aslib")
    return path


def arff_data_rows(path: Path) -> list[list[str]]:
    """The raw comma-split rows after an ARFF file's @data line (an independent count for tests)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data")
    return [line.split(",") for line in lines[start + 1 :] if line.strip() and not line.startswith("%")]


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    """A cache folder for module- and session-scoped fixtures, which run before the per-test one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOML_META_CACHE_DIR", str(tmp_path_factory.mktemp("session-cache")))
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's meta-feature cache away from the user's cache directory."""
    monkeypatch.setenv("AUTOML_META_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def interruptible() -> None:
    """``preexec_fn`` of a child process a test sends Ctrl-C (SIGINT): it must take SIGINT as a terminal's job does.

    A shell starts a background job (a CI runner's, ``cmd &``) with SIGINT
    ignored, its children inherit that, and Python keeps an ignored SIGINT
    ignored, so without this such a child would never see the interrupt.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def make_mixed_frame(n: int = 200, seed: int = 0, task: str = "classification") -> pd.DataFrame:
    """Numeric, categorical and missing values, with a target that depends on them."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(-1, 1, size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    flag = rng.choice([True, False], size=n)
    signal = x1 + 0.5 * x2 + (color == "red") * 1.0
    frame = pd.DataFrame({"x1": x1, "x2": x2, "color": color, "flag": flag})
    frame.loc[rng.choice(n, n // 10, replace=False), "x2"] = np.nan
    frame.loc[rng.choice(n, n // 10, replace=False), "color"] = None
    if task == "classification":
        frame["target"] = np.where(signal > np.median(signal), "yes", "no")
    else:
        frame["target"] = signal + rng.normal(scale=0.1, size=n)
    return frame


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    return make_mixed_frame()


SIX_TABLE_LEARNERS = ("dummy", "logistic_regression", "decision_tree", "gaussian_nb")


def synthetic_classes(i: int) -> pd.DataFrame:
    """Two classes 'a' and 'b' from scikit-learn's make_classification, harder as ``i`` grows."""
    from sklearn.datasets import make_classification

    X, y = make_classification(150, n_features=4 + 2 * i, n_informative=2 + i, flip_y=0.05 * i, random_state=i)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    frame["target"] = np.where(y == 1, "a", "b")
    return frame


def build_six_table_db(root: Path) -> tuple[Path, Path]:
    """Six small classification files (mixed_0-2, synth_0-2) and the meta-database `db build` makes of them: (folder, db)."""
    from typer.testing import CliRunner

    from automl_meta.cli.main import app

    data = root / "data"
    data.mkdir()
    for i in range(3):
        make_mixed_frame(120 + 40 * i, seed=i).to_csv(data / f"mixed_{i}.csv", index=False)
        synthetic_classes(i).to_csv(data / f"synth_{i}.csv", index=False)
    db = root / "meta.sqlite"
    result = CliRunner().invoke(app, ["db", "build", "--source", f"dir:{data}", "--db", str(db), "--cv", "3", "--max-rows", "200",
                                      "--learners", ",".join(SIX_TABLE_LEARNERS), "--quiet"])
    assert result.exit_code == 0, result.output
    return data, db
