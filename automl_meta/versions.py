"""The installed versions of the libraries behind a result, read from their distributions' metadata (nothing imported)."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version


def installed_version(package: str) -> str | None:
    """``package``'s installed version, or None where it is not installed."""
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def installed_versions(packages: Iterable[str]) -> dict[str, str | None]:
    """``{"python": ..., package: version or None, ...}``: what a stored result records of how it was made."""
    return {"python": platform.python_version(), **{package: installed_version(package) for package in packages}}
