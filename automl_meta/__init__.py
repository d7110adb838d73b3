"""automl-meta: recommend learners for tabular data and meta-learn gradient-trained models.

Importing the package is cheap: heavy libraries (torch, lightgbm, pymfe,
openml) are imported only by the modules that use them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("automl-meta")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "fit_recommended", "recommend_learners"]

_API = {"recommend_learners", "fit_recommended"}


def __getattr__(name: str):
    """``recommend_learners`` and ``fit_recommended`` from :mod:`automl_meta.api`, imported on first use (PEP 562)."""
    if name in _API:
        from automl_meta import api

        return getattr(api, name)
    raise AttributeError(f"module 'automl_meta' has no attribute {name!r}")
