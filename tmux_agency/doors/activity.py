"""Each agency's activity log (agencies/NAME/logs/activity.log): one line per event, for people."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

FILE_MODE = 0o600  # agents paste secrets into messages; the log is the user's alone


def activity_log_path(agency_dir: Path) -> Path:
    return agency_dir / "logs" / "activity.log"


def log_activity(agency_dir: Path, event: str, text: str, when: datetime | None = None) -> None:
    """Append `EVENT text` with a UTC timestamp; one write, so concurrent writers never interleave."""
    path = activity_log_path(agency_dir)
    stamp = (when or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Keep one event per line whatever the text holds: newlines are shown, not obeyed.
    flat = text.replace("\r", "\\r").replace("\n", "\\n")
    line = f"{stamp} {event} {flat}\n".encode("utf-8", errors="replace")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    except FileNotFoundError:  # the first line: make logs/ (not checked before every line)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
