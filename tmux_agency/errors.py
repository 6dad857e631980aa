"""The two kinds of failure every face reports as one line: bad input (exit 2) and a broken world (exit 1)."""


class AgencyError(Exception):
    """Base of every error tmux-agency reports to a person; `str()` is the one-line message."""

    exit_code = 1


class UsageError(AgencyError):
    """The user asked for something invalid: a bad name, an unknown agency, malformed JSON."""

    exit_code = 2


class WorldError(AgencyError):
    """Something outside the user's input failed: tmux missing, a git error, a corrupt file."""

    exit_code = 1


class TmuxUnavailable(WorldError):
    """tmux is not installed, or its server is not running."""


class RegistryCorrupt(WorldError):
    """A registry file could not be parsed; it has been moved aside, never silently reset."""
