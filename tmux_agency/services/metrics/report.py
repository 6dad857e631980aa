"""The metrics as both faces ask for them: the input checked, the registry scanned, the figures
computed. `tmux-agency metrics` prints what `build` returns (as JSON, or through render.py);
the control room draws it, keeping one `MessageScan` so that each refresh reads only what the
message log gained."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tmux_agency.doors.workspace import Workspace, validate_name
from tmux_agency.models.errors import UsageError
from tmux_agency.services.metrics.compute import TREND_DAYS, compute, first_reviews, lessons_summary
from tmux_agency.services.metrics.facts import FirstReview
from tmux_agency.services.metrics.scan import MessageScan, read, read_lessons, review_events


def build(
    ws: Workspace,
    agency: str | None = None,
    since: datetime | None = None,
    now: datetime | None = None,
    days: int = TREND_DAYS,
    scan: MessageScan | None = None,
) -> dict[str, Any]:
    """Every metric, for all agencies (`agency` None) or one, from `since` on (see
    compute.compute). Pass the same `scan` to each call to read only what the message log
    gained since the last."""
    now = now or datetime.now(timezone.utc)
    if agency is not None:
        validate_name(agency, "agency name")
    scanned = read(ws, scan)
    if agency is not None and agency not in scanned.agencies and not (ws.agencies_dir / agency).is_dir():
        raise UsageError(f"unknown agency {agency!r}: no tasks, reviews or messages, and no agencies/{agency}/")
    return compute(scanned, agency, since, now, days)


def lessons(ws: Workspace, agency: str, since: datetime | None = None) -> dict[str, Any]:
    """agencies/NAME/lessons.md summarised: how many, the latest three, recurring words."""
    return lessons_summary(read_lessons(ws, agency), since)


def first_review_outcomes(ws: Workspace) -> dict[Any, FirstReview]:
    """Approval id → how its first decision went (agency, time, approved)."""
    return first_reviews(review_events(ws))
