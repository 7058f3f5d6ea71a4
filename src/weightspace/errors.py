"""User-facing errors: one clear message that says what was wrong and what to do.

The CLI prints these without a traceback and exits with status 2; anything
else that escapes is a bug and keeps its traceback.
"""


class WeightspaceError(Exception):
    """An error the user can fix (bad config, missing file, ...)."""


class ConfigError(WeightspaceError):
    """The configuration is invalid."""


class DataError(WeightspaceError):
    """A dataset is missing, incomplete or corrupted."""


class ResourceError(WeightspaceError):
    """A run would not fit in the available memory."""


class Interrupted(WeightspaceError):
    """Training stopped on request (SIGTERM, SIGINT); the checkpoint holds its state."""

    signum: int | None = None  # the signal that asked for the stop, if any
