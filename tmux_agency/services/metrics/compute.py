"""The metrics' figures, from what the scan found: pure functions, no I/O.

The formulas are in docs/concepts.md ("Tasks, capabilities and metrics"). `compute` returns a
plain dict of numbers, strings, lists and None — JSON as it is: what `tmux-agency metrics --json`
prints, `render` writes out and the control room draws.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tmux_agency.models.errors import UsageError
from tmux_agency.services.metrics.facts import (
    BugReport,
    FirstReview,
    Handoff,
    Lesson,
    ReviewEvent,
    Scanned,
    Score,
    Task,
    utc,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

REPORT_EVENTS = ("COMPLETE", "handoff", "deploy")  # an agency saying its work is done
TREND_DAYS = 14
FLAG_DROP = 0.2  # a fall of this much (20 points) in first-review approval raises a flag
FLAG_WINDOW = 5  # recent reviews compared with the earlier ones


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`--since`: an ISO date or time (2024-05-01, 2024-05-01T09:30, with or without a zone —
    UTC when none), or an age: 90m, 12h, 7d, 2w."""
    now = now or datetime.now(timezone.utc)
    value = (text or "").strip()
    match = re.fullmatch(r"(\d+)\s*([mhdw])", value)
    if match:
        amount = int(match.group(1))
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        return now - timedelta(**{unit: amount})
    moment = utc(value) if value and value[0].isdigit() else None
    if moment is None:
        raise UsageError(
            f"--since {text!r}: use a date or time (2024-05-01, 2024-05-01T09:30) or an age (90m, 12h, 7d, 2w)"
        )
    return moment


# --- reviews and lessons -------------------------------------------------------------------------


def first_reviews(events: Iterable[ReviewEvent]) -> dict[Any, FirstReview]:
    """Approval id → how its first decision went (events oldest first)."""
    outcomes: dict[Any, FirstReview] = {}
    for event in events:
        if event.status in ("approved", "rejected") and event.approval not in outcomes:
            outcomes[event.approval] = FirstReview(event.agency, event.time, event.status == "approved")
    return outcomes


_STOP = frozenset(
    "the a an and or but for with from into onto this that these those then than there their them they "
    "have has had been were was are is be not no yes all any each every some more most less very also "
    "please should would could must will shall can just only when what which who whom whose where why how "
    "your yours you our ours its it's it on in at to of by as if so do does did done make made use used "
    "add added again before after fix fixed need needs".split()
)


def lessons_summary(lessons: Iterable[Lesson], since: datetime | None = None) -> dict[str, Any]:
    """An agency's lessons summarised: how many (from `since`'s day on), the latest three,
    recurring words (of four letters or more, in two lessons or more)."""
    found = []
    for lesson in lessons:
        day = utc(lesson.date)
        if since is not None and day is not None and day.date() < since.date():
            continue
        found.append(lesson)
    counts: dict[str, int] = {}
    for lesson in found:
        for word in set(re.findall(r"[a-z][a-z0-9-]{3,}", lesson.text.lower())):
            if word not in _STOP:
                counts[word] = counts.get(word, 0) + 1
    themes = sorted((w for w, n in counts.items() if n >= 2), key=lambda w: (-counts[w], w))[:5]
    return {
        "count": len(found),
        "recent": [{"date": x.date, "branch": x.branch, "text": x.text} for x in found[-3:][::-1]],
        "themes": [{"word": w, "lessons": counts[w]} for w in themes],
    }


# --- facts, from `since` on ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finished:
    agency: str | None
    time: datetime
    state: str  # completed or failed
    rejections: int


@dataclass(frozen=True, slots=True)
class Timed:
    """A span of time that ended at `time`: an assignment answered, an item decided."""

    agency: str | None
    time: datetime
    seconds: float


@dataclass(frozen=True, slots=True)
class Working:
    """A task's time in `working` (from `since` on)."""

    agency: str | None
    seconds: float


@dataclass(frozen=True, slots=True)
class Deploy:
    agency: str | None
    time: datetime
    tests: dict[str, Any]
    coverage: float | None


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything measured from `since` on, one row per fact, each with its agency: aggregated
    for all agencies and for each."""

    finished: tuple[Finished, ...]
    responses: tuple[Timed, ...]  # assigned → first report of done
    working: tuple[Working, ...]
    first_reviews: tuple[FirstReview, ...]
    review_times: tuple[Timed, ...]  # joined the queue → decided
    deploys: tuple[Deploy, ...]
    handoffs: tuple[Handoff, ...]
    bugs: tuple[BugReport, ...]
    scores: tuple[Score, ...]
    messages: dict[str, dict[str, int]]  # day → agency → messages it sent or got; "*" → all


def facts(scanned: Scanned, since: datetime | None, now: datetime) -> Facts:
    finished, responses, working = _task_facts(scanned.tasks, since, now)
    first, review_times, deploys = _review_facts(scanned.reviews, since)
    first_day = since.date().isoformat() if since is not None else ""
    messages: dict[str, dict[str, int]] = {}
    for (day, agency), n in scanned.messages.items():
        if day >= first_day:
            messages.setdefault(day, {})[agency if agency is not None else "*"] = n
    return Facts(
        finished=finished,
        responses=responses,
        working=working,
        first_reviews=first,
        review_times=review_times,
        deploys=deploys,
        handoffs=tuple(h for h in scanned.handoffs if since is None or h.sent >= since),
        bugs=tuple(b for b in scanned.bug_reports if since is None or b.time >= since),
        scores=tuple(s for s in scanned.scores if since is None or s.time >= since),
        messages=messages,
    )


def _task_facts(
    tasks: Iterable[Task], since: datetime | None, now: datetime
) -> tuple[tuple[Finished, ...], tuple[Timed, ...], tuple[Working, ...]]:
    finished: list[Finished] = []
    responses: list[Timed] = []
    working: list[Working] = []
    for task in tasks:
        history = task.history
        if task.state == "completed" or task.state == "failed":
            when = history[-1].time if history else task.updated_at
            if when is not None and (since is None or when >= since):
                finished.append(Finished(task.agency, when, task.state, task.rejections))
        assigned = next((s.time for s in history if s.event == "assigned"), None)
        if assigned is not None:
            done = next((s.time for s in history if s.time >= assigned and s.event in REPORT_EVENTS), None)
            if done is not None and (since is None or done >= since):
                responses.append(Timed(task.agency, done, (done - assigned).total_seconds()))
        # Time in `working`: from each step into it to the next step out of it (or now).
        seconds = 0.0
        entered = None
        for step in history:
            if step.state == "working" and entered is None:
                entered = step.time
            elif step.state != "working" and entered is not None:
                seconds += _overlap(entered, step.time, since)
                entered = None
        if entered is not None:
            seconds += _overlap(entered, now, since)
        if seconds:
            working.append(Working(task.agency, seconds))
    return tuple(finished), tuple(responses), tuple(working)


def _overlap(start: datetime, end: datetime, since: datetime | None) -> float:
    if since is not None and start < since:
        start = since
    return max((end - start).total_seconds(), 0.0)


def _review_facts(
    events: tuple[ReviewEvent, ...], since: datetime | None
) -> tuple[tuple[FirstReview, ...], tuple[Timed, ...], tuple[Deploy, ...]]:
    first = tuple(o for o in first_reviews(events).values() if since is None or o.time >= since)
    review_times: list[Timed] = []
    deploys: list[Deploy] = []
    enqueued: dict[Any, datetime] = {}
    for event in events:
        when = event.time
        if event.status == "pending":
            enqueued[event.approval] = when
            if since is None or when >= since:
                deploys.append(Deploy(event.agency, when, event.tests, event.coverage))
        elif event.approval in enqueued:
            decided = event.decided_at or when
            start = enqueued.pop(event.approval)
            if since is None or decided >= since:
                review_times.append(Timed(event.agency, decided, max((decided - start).total_seconds(), 0.0)))
    return first, tuple(review_times), tuple(deploys)


# --- aggregation ---------------------------------------------------------------------------------


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summary(facts: Facts, agency: str | None) -> dict[str, Any]:
    """The figures for one agency, or for all (`agency` None)."""

    def mine(row_agency: str | None) -> bool:
        return agency is None or row_agency == agency

    finished = [f for f in facts.finished if mine(f.agency)]
    completed = [f for f in finished if f.state == "completed"]
    first_time = [f for f in completed if f.rejections == 0]
    reviews = [r for r in facts.first_reviews if mine(r.agency)]
    approved = [r for r in reviews if r.approved]
    responses = [r.seconds for r in facts.responses if mine(r.agency)]
    handoffs = [h for h in facts.handoffs if mine(h.to)]
    answered = [h.answered_after_s for h in handoffs if h.answered_after_s is not None]
    deploys = [d for d in facts.deploys if mine(d.agency)]
    coverage = [d.coverage for d in deploys if d.coverage is not None]
    bugs = [b for b in facts.bugs if mine(b.against)]
    scores = [s.score for s in facts.scores if mine(s.by)]
    review_s = sum(r.seconds for r in facts.review_times if mine(r.agency))
    working_s = sum(w.seconds for w in facts.working if mine(w.agency))
    return {
        "tasks": {
            "finished": len(finished),
            "completed": len(completed),
            "completed_first_time": len(first_time),
            "failed": len(finished) - len(completed),
            "completion_rate": _rate(len(first_time), len(finished)),
        },
        "reviews": {
            "reviewed": len(reviews),
            "approved_first": len(approved),
            "first_review_approval_rate": _rate(len(approved), len(reviews)),
        },
        "response_time_s": {"count": len(responses), "median": _median(responses), "mean": _mean(responses)},
        "handoff_time_s": {
            "count": len(handoffs),
            "answered": len(answered),
            "median": _median(answered),
            "mean": _mean(answered),
        },
        "quality": {
            "deploys": len(deploys),
            "coverage_mean": _mean(coverage),
            "tests_passed": sum(int(d.tests.get("passed") or 0) for d in deploys),
            "tests_failed": sum(int(d.tests.get("failed") or 0) + int(d.tests.get("errors") or 0) for d in deploys),
            "bugs_reported": sum(b.bugs for b in bugs),
            "bug_reports": len(bugs),
            "review_score_mean": _mean(scores),
            "review_scores": len(scores),
        },
        "time": {
            "human_review_s": review_s,
            "agency_working_s": working_s,
            "review_per_working": (review_s / working_s) if working_s else None,
        },
    }


def trends(facts: Facts, agency: str | None, since: datetime | None, now: datetime, days: int) -> dict[str, Any]:
    """One value per day, over the last `days` (from `since`'s day if later) up to `now`'s."""
    first = now.date() - timedelta(days=days - 1)
    if since is not None and since.date() > first:
        first = since.date()
    span = [(first + timedelta(days=n)).isoformat() for n in range((now.date() - first).days + 1)]

    def mine(row_agency: str | None) -> bool:
        return agency is None or row_agency == agency

    def per_day(rows: Iterable[tuple[datetime, float]]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for when, value in rows:
            out.setdefault(when.date().isoformat(), []).append(value)
        return out

    completed = per_day((f.time, 1.0) for f in facts.finished if mine(f.agency) and f.state == "completed")
    reviews = per_day((r.time, 1.0 if r.approved else 0.0) for r in facts.first_reviews if mine(r.agency))
    coverage = per_day((d.time, d.coverage) for d in facts.deploys if mine(d.agency) and d.coverage is not None)
    messages = [facts.messages.get(day, {}).get(agency or "*", 0) for day in span]
    return {
        "days": span,
        "tasks_completed": [len(completed.get(day, [])) for day in span],
        "messages": messages,
        "first_review_approval_rate": [_mean(reviews[day]) if day in reviews else None for day in span],
        "coverage": [_mean(coverage[day]) if day in coverage else None for day in span],
    }


def flag(agency: str, reviews: Iterable[FirstReview]) -> str | None:
    """A fall in first-review approval: the last FLAG_WINDOW reviews (or half, when fewer than
    twice that) against the ones before, by at least FLAG_DROP."""
    ordered = sorted((r for r in reviews if r.agency == agency), key=lambda r: r.time)
    if len(ordered) < 4:
        return None
    window = min(FLAG_WINDOW, len(ordered) // 2)
    earlier, recent = ordered[:-window], ordered[-window:]
    before = sum(r.approved for r in earlier) / len(earlier)
    after = sum(r.approved for r in recent) / len(recent)
    if before - after < FLAG_DROP - 1e-9:
        return None
    return (
        f"{agency}: first-review approval fell from {before:.0%} ({sum(r.approved for r in earlier)} of {len(earlier)}) "
        f"to {after:.0%} ({sum(r.approved for r in recent)} of {len(recent)}) in its last {len(recent)} reviews"
    )


def compute(
    scanned: Scanned,
    agency: str | None = None,
    since: datetime | None = None,
    now: datetime | None = None,
    days: int = TREND_DAYS,
) -> dict[str, Any]:
    """Every metric, for all agencies (`agency` None) or one, from `since` on: `totals` (the
    summary, for the selection), `trends` (one value per day), `agencies` (the summary of each,
    with its lessons and flag) and `flags`."""
    now = now or datetime.now(timezone.utc)
    measured = facts(scanned, since, now)
    names = [agency] if agency is not None else sorted(scanned.agencies)
    lessons: Mapping[str, tuple[Lesson, ...]] = scanned.lessons
    rows = []
    flags = []
    for name in names:
        flagged = flag(name, measured.first_reviews)
        if flagged:
            flags.append(flagged)
        rows.append(
            {
                "name": name,
                **summary(measured, name),
                "lessons": lessons_summary(lessons.get(name, ()), since),
                "flag": flagged,
            }
        )
    return {
        "generated_at": now.isoformat(),
        "since": since.isoformat() if since else None,
        "agency": agency,
        "totals": summary(measured, agency),
        "trends": trends(measured, agency, since, now, days),
        "agencies": rows,
        "flags": flags,
    }
