"""automl-meta: recommend learners for tabular data and meta-learn gradient-trained models.

Importing the package is cheap: heavy libraries (torch, lightgbm, pymfe,
openml) are imported only by the modules that use them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("automl-meta")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
