"""What the metrics are made of: the facts the scan finds, as frozen value objects, each with
its agency and its time (UTC), and the one way a stored time is read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


def utc(value: Any) -> datetime | None:
    """A stored time (ISO text, with or without a zone — UTC when none — or a datetime) as an
    aware datetime; None when there is none or it does not parse."""
    if not value:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- from the task graph ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a task's history."""

    time: datetime
    state: str | None
    event: str | None


@dataclass(frozen=True, slots=True)
class Task:
    """A task as the metrics need it: whose, where it stands, and its steps (those with a time)."""

    agency: str | None
    state: str | None
    rejections: int
    updated_at: datetime | None
    history: tuple[Step, ...]


# --- from the approval queue ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    """An enqueue (status `pending`) or a decision (`approved`, `rejected`) of an approval item."""

    approval: Any  # the item's id, as stored
    agency: str | None
    status: str | None
    time: datetime
    decided_at: datetime | None
    tests: dict[str, Any]  # SuiteCounts as stored: passed, failed, skipped, errors
    coverage: float | None


@dataclass(frozen=True, slots=True)
class FirstReview:
    """How an approval item's first decision went."""

    agency: str | None
    time: datetime
    approved: bool


# --- from the message log ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Handoff:
    """A handoff between agencies: to whom, from whom, when, and how long until the receiving
    agency next spoke (None while it has not)."""

    to: str
    sender: str | None
    sent: datetime
    answered_after_s: float | None


@dataclass(frozen=True, slots=True)
class BugReport:
    """QA results naming bugs: against the agency they were sent to, by whom, how many."""

    against: str
    by: str | None
    time: datetime
    bugs: int


@dataclass(frozen=True, slots=True)
class Score:
    """A review score (0–100) an agency sent."""

    by: str | None
    time: datetime
    score: float


# --- from agencies/NAME/lessons.md ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lesson:
    """One line of an agency's lessons.md: the day it was learned, on which branch, and what."""

    date: str  # YYYY-MM-DD, as written
    branch: str
    text: str


# --- all of it ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scanned:
    """Everything the scan found, for `compute`: the registry's facts as read, unfiltered."""

    tasks: tuple[Task, ...]
    reviews: tuple[ReviewEvent, ...]  # oldest first
    handoffs: tuple[Handoff, ...]
    bug_reports: tuple[BugReport, ...]
    scores: tuple[Score, ...]
    messages: Mapping[tuple[str, str | None], int]  # (day, agency; None: all) → messages it sent or got
    agencies: frozenset[str]  # named by a task or a review, registered, or with a lessons.md
    lessons: Mapping[str, tuple[Lesson, ...]]  # agency → its lessons.md, line by line
