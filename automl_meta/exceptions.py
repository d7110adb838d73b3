"""The errors automl-meta raises on purpose.

Every error a user can cause or meet derives from :class:`AutomlMetaError`.
The CLI has one boundary that turns them into a single red line on stderr and
an exit code: ``exit_code`` 2 for bad input or usage, 1 for runtime failures.
"""

from __future__ import annotations


class AutomlMetaError(Exception):
    """Base class. A runtime failure (exit code 1) unless a subclass says otherwise."""

    exit_code = 1


class UsageError(AutomlMetaError):
    """The command was called with options that cannot work together (exit 2)."""

    exit_code = 2


# how to give the reader what it lacked, by the kind of fix a DatasetError names (its ``fix``)
READER_FIXES = {"sep": "pass --sep, or sep= to load_dataset", "target": "pass --target, or target= in Python",
                "task": "pass --task, or task= in Python"}


class DatasetError(AutomlMetaError):
    """A data file cannot be read or is unusable as a learning problem (exit 2).

    ``fix``: where the way out is an option of the reader, which one (a key of
    :data:`READER_FIXES`); the message ends with how to give it, and
    :meth:`with_fixes` says it another way, as a caller without those options
    (a folder build) must.
    """

    exit_code = 2

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(problem if fix is None else f"{problem} ({READER_FIXES[fix]})")

    def with_fixes(self, fixes: dict[str, str]) -> DatasetError:
        """The same error with its fix said as ``fixes[self.fix]``; itself when it names none."""
        return self if self.fix is None else DatasetError(f"{self.problem} ({fixes[self.fix]})")


class MetaFeatureError(AutomlMetaError):
    """Meta-features could not be computed at all."""


class LearnerError(AutomlMetaError):
    """An unknown learner name, or a learner that cannot serve the task (exit 2)."""

    exit_code = 2


class MetaDBError(AutomlMetaError):
    """The meta-database is missing, corrupt or lacks what was asked for."""


class MetaDBPathError(MetaDBError):
    """The path given holds no meta-database (absent, or an empty file): bad input (exit code 2), as a missing data file is."""

    exit_code = 2


class MetaDBContentError(MetaDBError):
    """The meta-database given holds nothing for this task, metric or extractor: the inputs do not fit together (exit 2)."""

    exit_code = 2


class MetaDBVersionError(MetaDBError):
    """A meta-database or artifact was written by an incompatible schema version (bad input: exit code 2)."""

    exit_code = 2

    def __init__(self, found, expected, what="meta-database schema", fix=None, where=None,
                 remake="rebuild it with `automl-meta db build`"):
        self.found = found
        self.expected = expected
        if fix is None:
            newer = isinstance(found, int) and isinstance(expected, int) and found > expected
            fix = "upgrade automl-meta, which wrote it" if newer else f"{remake}, or upgrade automl-meta"
        super().__init__(f"{f'{where}: ' if where else ''}{what} version {found!r} is not supported (expected {expected!r}); {fix}")


class OpenMLAccessError(AutomlMetaError):
    """OpenML could not be reached, or refused a request, after the allowed retries."""


class ProtocolLeakError(AutomlMetaError):
    """A held-out dataset reached a selector's training data (a bug in an evaluation protocol)."""


class ArtifactError(AutomlMetaError):
    """A saved model, checkpoint or manifest is missing, corrupt or mismatched (exit 2)."""

    exit_code = 2


def format_problem(found, expected: str, what: str) -> str:
    """Why a file of ``found`` format is refused where ``expected`` (``name/N``) is read: a newer version, or another kind."""
    name, _, version = expected.rpartition("/")
    if isinstance(found, str) and found.startswith(f"{name}/"):
        newer = found.rpartition("/")[2]
        if newer.isdigit() and version.isdigit() and int(newer) > int(version):
            return f"an automl-meta {what} of format {found}, written by a newer automl-meta; upgrade automl-meta to read it"
    return f"not an automl-meta {what} (format {expected} expected)"
