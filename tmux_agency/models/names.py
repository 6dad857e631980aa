"""The names that reach tmux and the file system, and the rule they follow (no pydantic here:
agent-facing commands check names on every call)."""

from __future__ import annotations

import re

# Names become tmux session and window names and folders under agencies/. tmux reads ':' and
# '.' as target syntax and matches names by prefix, so only a safe alphabet is allowed. Checked
# with fullmatch: `$` would also match before a trailing newline ("Zed\n" would pass).
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
NAME_RULE = "letters, digits, '-' and '_', starting with a letter or digit, at most 40 characters"

# Window names an agency uses for itself; an agent cannot take them.
RESERVED_WINDOWS = frozenset({"tools", "sandbox"})
# `coordinator` always means the agency's coordinator in `send`, so no specialist may be called so.
COORDINATOR_ALIAS = "coordinator"


def check_name(value: str, what: str = "name") -> str:
    """Return `value` if it is a safe agency/agent name, else raise ValueError naming the rule."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise ValueError(f"invalid {what} {value!r}: use {NAME_RULE}")
    return value
