"""The two kinds of failure every face reports as one line: bad input (exit 2) and a broken world (exit 1).

A registry file that does not read counts as bad input: see RegistryCorrupt.
"""


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


class RegistryCorrupt(UsageError):
    """A registry file could not be parsed: named, kept aside by the next writer, never reset.

    Exit 2, not 1: the file is input the command was handed (hand-edited, truncated, copied from
    elsewhere), and the person must fix or remove it before the command can do anything - as with
    any other bad input, nothing was changed.
    """
