"""Metrics from the registry and the message log: how the agencies deliver, and what they learn.

Sources: registry/task_graph.json (each task's history of states), registry/reviews.jsonl
(every enqueue and decision of the approval queue, written by tasks.on_approval; items from
before it existed are read from approval_queue.json), registry/messages.jsonl (streamed once,
line by line: handoffs, QA results, review scores, messages per day) and agencies/*/lessons.md.
The formulas are in docs/concepts.md ("Tasks, capabilities and metrics"); `compute` returns a plain
dict — what `tmux-agency metrics --json` prints and the control room draws.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from tmux_agency.doors import registry as reg
from tmux_agency.doors.chain import HISTORY
from tmux_agency.models.errors import UsageError
from tmux_agency.doors.registry import Registry
from tmux_agency.doors.workspace import Workspace, validate_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

REPORT_EVENTS = ("COMPLETE", "handoff", "deploy")  # an agency saying its work is done
TREND_DAYS = 14
FLAG_DROP = 0.2  # a fall of this much (20 points) in first-review approval raises a flag
FLAG_WINDOW = 5  # recent reviews compared with the earlier ones
SPARKS = "▁▂▃▄▅▆▇█"

# The head of a message line as bus._append_event writes it (keys in new_message's order):
# enough to count and route a line without parsing its JSON. Lines that do not match (a type or
# agent name with an escaped character, another key order) are parsed.
_HEAD = re.compile(
    rb'\{"seq":\d+,"event":"message","message":\{"id":"[^"]*","time":"([^"]+)","kind":"(\w+)",'
    rb'"type":"([^"\\]*)","sender_agency":(?:null|"([^"]*)"),"sender_agent":(?:null|"[^"\\]*"),'
    rb'"recipient_agency":"([^"]*)"'
)


def _utc(value: Any) -> datetime | None:
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
    moment = _utc(value) if value and value[0].isdigit() else None
    if moment is None:
        raise UsageError(f"--since {text!r}: use a date or time (2024-05-01, 2024-05-01T09:30) or an age (90m, 12h, 7d, 2w)")
    return moment


# --- reviews -----------------------------------------------------------------------------------


def review_events(ws: Workspace) -> list[dict[str, Any]]:
    """Every enqueue (`pending`) and decision of the approval queue, oldest first. Items with no
    line in reviews.jsonl (decided before it was kept) are rebuilt from approval_queue.json: an
    enqueue at created_at, and the decision at decided_at (a rejected-then-redeployed item,
    which keeps its feedback, as a rejection at created_at)."""
    registry = Registry(ws.registry_dir)
    events, _ = registry.read_lines(reg.REVIEWS)
    logged = {e.get("approval") for e in events}
    for item in registry.documents(reg.APPROVALS):
        if item.get("id") in logged:
            continue
        base = {
            "approval": item.get("id"), "agency": item.get("agency"), "branch": item.get("branch"),
            "revision": item.get("revision", 1), "task": None, "tests": item.get("tests") or {},
            "coverage": item.get("coverage"),
        }  # fmt: skip
        events.append({**base, "status": "pending", "time": item.get("created_at")})
        if item.get("status") in ("approved", "rejected") and item.get("decided_at"):
            events.append({**base, "status": item["status"], "time": item["decided_at"], "decided_at": item["decided_at"]})
        elif item.get("feedback"):
            events.append({**base, "status": "rejected", "time": item.get("created_at")})
    events = [e for e in events if _utc(e.get("time")) is not None]
    events.sort(key=lambda e: _utc(e["time"]))
    return events


def first_review_outcomes(ws: Workspace | None, events: list[dict[str, Any]] | None = None) -> dict[Any, dict[str, Any]]:
    """Approval id → {agency, time, approved}: how each item's first decision went."""
    outcomes: dict[Any, dict[str, Any]] = {}
    for event in review_events(ws) if events is None else events:
        if event.get("status") in ("approved", "rejected") and event.get("approval") not in outcomes:
            outcomes[event["approval"]] = {
                "agency": event.get("agency"),
                "time": _utc(event["time"]),
                "approved": event["status"] == "approved",
            }
    return outcomes


# --- lessons -----------------------------------------------------------------------------------

_LESSON = re.compile(r"^- (\d{4}-\d{2}-\d{2}) (.*?)(?: \(approval #(\d+)[^)]*\))?: (.*)$")
_STOP = frozenset(
    "the a an and or but for with from into onto this that these those then than there their them they "
    "have has had been were was are is be not no yes all any each every some more most less very also "
    "please should would could must will shall can just only when what which who whom whose where why how "
    "your yours you our ours its it's it on in at to of by as if so do does did done make made use used "
    "add added again before after fix fixed need needs".split()
)


def lessons(ws: Workspace, agency: str, since: datetime | None = None) -> dict[str, Any]:
    """agencies/NAME/lessons.md summarised: how many, the latest three, recurring words."""
    path = ws.agencies_dir / agency / "lessons.md"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    found = []
    for line in lines:
        match = _LESSON.match(line.strip())
        if not match:
            continue
        day = _utc(match.group(1))
        if since is not None and day is not None and day.date() < since.date():
            continue
        found.append({"date": match.group(1), "branch": match.group(2), "text": match.group(4)})
    counts: dict[str, int] = {}
    for lesson in found:
        for word in set(re.findall(r"[a-z][a-z0-9-]{3,}", lesson["text"].lower())):
            if word not in _STOP:
                counts[word] = counts.get(word, 0) + 1
    themes = sorted((w for w, n in counts.items() if n >= 2), key=lambda w: (-counts[w], w))[:5]
    return {
        "count": len(found),
        "recent": found[-3:][::-1],
        "themes": [{"word": w, "lessons": counts[w]} for w in themes],
    }


# --- the message log, streamed -----------------------------------------------------------------


def _message_lines(lines: Iterable[bytes]) -> Iterator[tuple[bytes, bytes, bytes, bytes | None, bytes, bytes]]:
    """(time, kind, type, sender agency, recipient agency, raw line) of every message event, as
    bytes: at 100,000 messages, decoding only what is used is what keeps this fast."""
    match = _HEAD.match
    for line in lines:
        if line.find(b'"event":"state"', 0, 48) != -1:
            continue  # a delivery event
        head = match(line)
        if head is not None:
            yield (*head.group(1, 2, 3, 4, 5), line)  # type: ignore[misc]
            continue
        if b'"message"' not in line:
            continue  # a fragment a killed writer left
        try:
            event = json.loads(line)
            if event.get("event") != "message":
                continue
            message = event["message"]
            sender = message.get("sender_agency")
            yield (
                message["time"].encode(), message["kind"].encode(), str(message["type"]).encode(),
                sender.encode() if sender else None, message["recipient_agency"].encode(), line,
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError):
            continue


def _payload(line: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(line)["message"].get("payload")
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _bugs(payload: dict[str, Any]) -> int:
    for key in ("bugs", "issues_found"):
        value = payload.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return max(value, 0)
        if isinstance(value, list):
            return len(value)
    return 1 if payload.get("status") == "issues_found" else 0


def _score(payload: dict[str, Any]) -> float | None:
    for key in ("score", "review_score"):
        value = payload.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100:
            return float(value)
    return None


# --- facts -------------------------------------------------------------------------------------


class _Facts:
    """Everything measured, one tuple per fact, each with its agency and time: aggregated for
    all agencies and for each."""

    def __init__(self) -> None:
        self.finished: list[tuple[str | None, datetime, str, int]] = []  # agency, when, state, rejections
        self.responses: list[tuple[str | None, datetime, float]] = []
        self.working: list[tuple[str | None, float]] = []
        self.first_reviews: list[tuple[str | None, datetime, bool]] = []
        self.review_times: list[tuple[str | None, datetime, float]] = []
        self.deploys: list[tuple[str | None, datetime, dict[str, Any], float | None]] = []
        self.handoffs: list[tuple[str, str | None, datetime, float | None]] = []  # to, from, sent, answered after
        self.bugs: list[tuple[str, str | None, datetime, int]] = []  # against (recipient), by, when, count
        self.scores: list[tuple[str | None, datetime, float]] = []
        self.messages: dict[str, dict[str, int]] = {}  # day → agency → messages it sent or got; "*" → all
        self.agencies: set[str] = set()


def _task_facts(facts: _Facts, tasks: list[dict[str, Any]], since: datetime | None, now: datetime) -> None:
    for task in tasks:
        agency = task.get("agency")
        history = [(_utc(h.get("time")), h) for h in task.get("history") or []]
        history = [(t, h) for t, h in history if t is not None]
        if agency:
            facts.agencies.add(agency)
        if task.get("state") in ("completed", "failed"):
            when = history[-1][0] if history else _utc(task.get("updated_at"))
            if when is not None and (since is None or when >= since):
                facts.finished.append((agency, when, task["state"], int(task.get("rejections") or 0)))
        assigned = next((t for t, h in history if h.get("event") == "assigned"), None)
        if assigned is not None:
            done = next((t for t, h in history if t >= assigned and h.get("event") in REPORT_EVENTS), None)
            if done is not None and (since is None or done >= since):
                facts.responses.append((agency, done, (done - assigned).total_seconds()))
        # Time in `working`: from each step into it to the next step out of it (or now).
        seconds = 0.0
        entered = None
        for t, h in history:
            if h.get("state") == "working" and entered is None:
                entered = t
            elif h.get("state") != "working" and entered is not None:
                seconds += _overlap(entered, t, since)
                entered = None
        if entered is not None:
            seconds += _overlap(entered, now, since)
        if seconds:
            facts.working.append((agency, seconds))


def _overlap(start: datetime, end: datetime, since: datetime | None) -> float:
    if since is not None and start < since:
        start = since
    return max((end - start).total_seconds(), 0.0)


def _review_facts(facts: _Facts, events: list[dict[str, Any]], since: datetime | None) -> None:
    for outcome in first_review_outcomes(None, events).values():
        if since is None or outcome["time"] >= since:
            facts.first_reviews.append((outcome["agency"], outcome["time"], outcome["approved"]))
    enqueued: dict[Any, datetime] = {}
    for event in events:
        when = _utc(event["time"])
        agency = event.get("agency")
        if agency:
            facts.agencies.add(agency)
        if event.get("status") == "pending":
            enqueued[event.get("approval")] = when
            if since is None or when >= since:
                facts.deploys.append((agency, when, event.get("tests") or {}, event.get("coverage")))
        elif event.get("approval") in enqueued:
            decided = _utc(event.get("decided_at")) or when
            start = enqueued.pop(event["approval"])
            if since is None or decided >= since:
                facts.review_times.append((agency, decided, max((decided - start).total_seconds(), 0.0)))


class MessageScan:
    """What the message log says for the metrics, read incrementally: keep one and pass it to
    `compute` each time — each call reads only the lines appended since the last (the control
    room refreshes on every message; a full read of 100,000 messages takes ~0.4 s)."""

    def __init__(self) -> None:
        self.offset = 0
        self.handoffs: list[tuple[str, str | None, datetime, float | None]] = []  # to, from, sent, answered after
        self.waiting: dict[bytes, list[int]] = {}  # receiving agency → its unanswered handoffs
        self.bugs: list[tuple[str, str | None, datetime, int]] = []  # against (recipient), by, when, count
        self.scores: list[tuple[str | None, datetime, float]] = []
        self.counts: dict[tuple[bytes, bytes | None], int] = {}  # (day, agency; None: all) → messages

    def update(self, registry: Registry) -> None:
        size = registry.size(HISTORY)
        if size is None:
            return
        if size < self.offset:
            self.__init__()  # the log was replaced: start over
        lines = registry.raw_lines(HISTORY, self.offset)  # whole lines: a partial last one waits
        self._read(lines)
        self.offset = lines.end

    def _read(self, lines: Iterable[bytes]) -> None:
        counts, waiting, handoffs = self.counts, self.waiting, self.handoffs
        for time_raw, kind, type_, sender, recipient, line in _message_lines(lines):
            if sender in waiting:
                answered = _utc(time_raw.decode())
                for index in waiting.pop(sender):  # type: ignore[arg-type]
                    to, frm, sent, _ = handoffs[index]
                    handoffs[index] = (to, frm, sent, max((answered - sent).total_seconds(), 0.0))
            day = time_raw[:10]
            key = (day, None)
            counts[key] = counts.get(key, 0) + 1
            key = (day, recipient)
            counts[key] = counts.get(key, 0) + 1
            if sender is not None and sender != recipient:
                key = (day, sender)
                counts[key] = counts.get(key, 0) + 1
            if kind == b"intra":
                continue
            if type_ == b"handoff" and kind == b"inter":
                handoffs.append((recipient.decode(), sender.decode() if sender else None, _utc(time_raw.decode()), None))
                waiting.setdefault(recipient, []).append(len(handoffs) - 1)
            if type_ == b"results" or b'score"' in line:
                payload = _payload(line)
                when = _utc(time_raw.decode())
                who = sender.decode() if sender else None
                if type_ == b"results":
                    bugs = _bugs(payload)
                    if bugs:
                        self.bugs.append((recipient.decode(), who, when, bugs))
                score = _score(payload)
                if score is not None:
                    self.scores.append((who, when, score))


def _message_facts(facts: _Facts, scan: MessageScan, since: datetime | None) -> None:
    """The scan's facts from `since` on (messages per day: from since's day on)."""
    facts.handoffs = [h for h in scan.handoffs if since is None or h[2] >= since]
    facts.bugs = [b for b in scan.bugs if since is None or b[2] >= since]
    facts.scores = [x for x in scan.scores if since is None or x[1] >= since]
    first_day = since.date().isoformat().encode() if since is not None else b""
    for (day, agency), n in scan.counts.items():
        if day >= first_day:
            facts.messages.setdefault(day.decode(), {})[agency.decode() if agency is not None else "*"] = n


# --- aggregation -------------------------------------------------------------------------------


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


def _summary(facts: _Facts, agency: str | None) -> dict[str, Any]:
    def mine(row_agency: str | None) -> bool:
        return agency is None or row_agency == agency

    finished = [f for f in facts.finished if mine(f[0])]
    completed = [f for f in finished if f[2] == "completed"]
    first_time = [f for f in completed if f[3] == 0]
    reviews = [r for r in facts.first_reviews if mine(r[0])]
    approved = [r for r in reviews if r[2]]
    responses = [r[2] for r in facts.responses if mine(r[0])]
    handoffs = [h for h in facts.handoffs if mine(h[0])]
    answered = [h[3] for h in handoffs if h[3] is not None]
    deploys = [d for d in facts.deploys if mine(d[0])]
    coverage = [d[3] for d in deploys if d[3] is not None]
    bugs = [b for b in facts.bugs if mine(b[0])]
    scores = [s[2] for s in facts.scores if mine(s[0])]
    review_s = sum(r[2] for r in facts.review_times if mine(r[0]))
    working_s = sum(w[1] for w in facts.working if mine(w[0]))
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
            "tests_passed": sum(int(d[2].get("passed") or 0) for d in deploys),
            "tests_failed": sum(int(d[2].get("failed") or 0) + int(d[2].get("errors") or 0) for d in deploys),
            "bugs_reported": sum(b[3] for b in bugs),
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


def _trends(facts: _Facts, agency: str | None, since: datetime | None, now: datetime, days: int) -> dict[str, Any]:
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

    completed = per_day((f[1], 1.0) for f in facts.finished if mine(f[0]) and f[2] == "completed")
    reviews = per_day((r[1], 1.0 if r[2] else 0.0) for r in facts.first_reviews if mine(r[0]))
    coverage = per_day((d[1], d[3]) for d in facts.deploys if mine(d[0]) and d[3] is not None)
    messages = [facts.messages.get(day, {}).get(agency or "*", 0) for day in span]
    return {
        "days": span,
        "tasks_completed": [len(completed.get(day, [])) for day in span],
        "messages": messages,
        "first_review_approval_rate": [_mean(reviews[day]) if day in reviews else None for day in span],
        "coverage": [_mean(coverage[day]) if day in coverage else None for day in span],
    }


def _flag(agency: str, reviews: list[tuple[str | None, datetime, bool]]) -> str | None:
    """A fall in first-review approval: the last FLAG_WINDOW reviews (or half, when fewer than
    twice that) against the ones before, by at least FLAG_DROP."""
    ordered = sorted((r for r in reviews if r[0] == agency), key=lambda r: r[1])
    if len(ordered) < 4:
        return None
    window = min(FLAG_WINDOW, len(ordered) // 2)
    earlier, recent = ordered[:-window], ordered[-window:]
    before = sum(r[2] for r in earlier) / len(earlier)
    after = sum(r[2] for r in recent) / len(recent)
    if before - after < FLAG_DROP - 1e-9:
        return None
    return (
        f"{agency}: first-review approval fell from {before:.0%} ({sum(r[2] for r in earlier)} of {len(earlier)}) "
        f"to {after:.0%} ({sum(r[2] for r in recent)} of {len(recent)}) in its last {len(recent)} reviews"
    )


def compute(
    ws: Workspace,
    agency: str | None = None,
    since: datetime | None = None,
    now: datetime | None = None,
    days: int = TREND_DAYS,
    scan: MessageScan | None = None,
) -> dict[str, Any]:
    """Every metric, for all agencies (`agency` None) or one, from `since` on. A plain dict of
    numbers, strings, lists and None — JSON as it is, and what the control room draws:
    `totals` (the summary below, for the selection), `trends` (one value per day), `agencies`
    (the summary of each, with lessons and flag) and `flags`. Pass the same `scan` to each call
    to read only what the message log gained since the last."""
    now = now or datetime.now(timezone.utc)
    if agency is not None:
        validate_name(agency, "agency name")
    registry = Registry(ws.registry_dir)
    facts = _Facts()
    _task_facts(facts, registry.documents(reg.TASKS), since, now)
    events = review_events(ws)
    _review_facts(facts, events, since)
    if scan is None:
        scan = MessageScan()
    scan.update(registry)
    _message_facts(facts, scan, since)
    from tmux_agency.services.records import raw_records

    facts.agencies.update(r["name"] for r in raw_records(ws))
    facts.agencies.update(p.parent.name for p in ws.agencies_dir.glob("*/lessons.md"))
    facts.agencies.discard(None)  # type: ignore[arg-type]
    if agency is not None and agency not in facts.agencies and not (ws.agencies_dir / agency).is_dir():
        raise UsageError(f"unknown agency {agency!r}: no tasks, reviews or messages, and no agencies/{agency}/")
    names = [agency] if agency is not None else sorted(facts.agencies)
    rows = []
    flags = []
    for name in names:
        flag = _flag(name, facts.first_reviews)
        if flag:
            flags.append(flag)
        rows.append({"name": name, **_summary(facts, name), "lessons": lessons(ws, name, since), "flag": flag})
    return {
        "generated_at": now.isoformat(),
        "since": since.isoformat() if since else None,
        "agency": agency,
        "totals": _summary(facts, agency),
        "trends": _trends(facts, agency, since, now, days),
        "agencies": rows,
        "flags": flags,
    }


# --- drawing -----------------------------------------------------------------------------------


def sparkline(values: list[float | None]) -> str:
    """One character per value, ▁ to █ scaled to the largest; a gap where there is no value."""
    known = [v for v in values if v is not None]
    top = max(known, default=0)
    low = min(known, default=0)
    out = []
    for value in values:
        if value is None:
            out.append(" ")
        elif top == low:
            out.append(SPARKS[0] if top == 0 else SPARKS[len(SPARKS) // 2])
        else:
            out.append(SPARKS[round((value - low) / (top - low) * (len(SPARKS) - 1))])
    return "".join(out)


def bar(fraction: float | None, width: int = 20) -> str:
    if fraction is None:
        return "·" * width
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def duration(seconds: float | None) -> str:
    """4s, 12m 30s, 3h 05m, 2d 4h."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def render(report: dict[str, Any]) -> str:
    """The report for people: rates with bars, times, quality, trends as sparklines, agencies,
    lessons and flags."""
    t = report["totals"]
    tasks, reviews, quality, times = t["tasks"], t["reviews"], t["quality"], t["time"]
    who = report["agency"] or "all agencies"
    since = f"since {report['since'][:16].replace('T', ' ')}" if report["since"] else "all time"
    lines = [f"Metrics · {who} · {since}", ""]
    lines.append(
        f"  task completion rate     {_pct(tasks['completion_rate']):>4}  {bar(tasks['completion_rate'])}  "
        f"{tasks['completed_first_time']} of {tasks['finished']} finished tasks completed without a rejection"
        + (f" ({tasks['failed']} failed)" if tasks["failed"] else "")
    )
    lines.append(
        f"  first-review approval    {_pct(reviews['first_review_approval_rate']):>4}  "
        f"{bar(reviews['first_review_approval_rate'])}  {reviews['approved_first']} of {reviews['reviewed']} "
        f"reviewed items approved the first time"
    )
    r = t["response_time_s"]
    lines.append(f"  response time            median {duration(r['median'])} · mean {duration(r['mean'])} "
                 f"({r['count']} tasks, assigned → COMPLETE)")  # fmt: skip
    h = t["handoff_time_s"]
    unanswered = h["count"] - h["answered"]
    lines.append(f"  handoff time             median {duration(h['median'])} · mean {duration(h['mean'])} "
                 f"({h['answered']} answered handoffs" + (f", {unanswered} unanswered" if unanswered else "") + ")")
    cov = f"{quality['coverage_mean']:.1f}%" if quality["coverage_mean"] is not None else "—"
    score = f"{quality['review_score_mean']:.0f}/100 ({quality['review_scores']})" if quality["review_scores"] else "—"
    lines.append(f"  code quality             coverage {cov} over {quality['deploys']} deploys · tests "
                 f"{quality['tests_passed']} passed, {quality['tests_failed']} failed · {quality['bugs_reported']} bugs "
                 f"in {quality['bug_reports']} QA results · review score {score}")  # fmt: skip
    share = times["review_per_working"]
    lines.append(f"  human review             {duration(times['human_review_s'])} reviewing vs "
                 f"{duration(times['agency_working_s'])} of agency work" + (f" ({share:.1%})" if share is not None else ""))

    trends = report["trends"]
    days = trends["days"]
    if days:
        lines += ["", f"Trends, per day {days[0]} → {days[-1]}"]
        rows = [
            ("tasks completed", trends["tasks_completed"], str(sum(trends["tasks_completed"]))),
            ("messages", trends["messages"], str(sum(trends["messages"]))),
            ("first-review approval", trends["first_review_approval_rate"], _last(trends["first_review_approval_rate"], _pct)),
            ("coverage", trends["coverage"], _last(trends["coverage"], lambda v: f"{v:.0f}%")),
        ]
        for name, values, note in rows:
            lines.append(f"  {name:<24} {sparkline(values)}  {note}")

    if report["agencies"]:
        lines += ["", "Agencies"]
        width = max(len(a["name"]) for a in report["agencies"])
        for a in report["agencies"]:
            at, ar = a["tasks"], a["reviews"]
            lines.append(
                f"  {a['name']:<{width}}  completion {_pct(at['completion_rate']):>4} ({at['completed_first_time']}/{at['finished']})"
                f"  first review {_pct(ar['first_review_approval_rate']):>4} ({ar['approved_first']}/{ar['reviewed']})"
                f"  response {duration(a['response_time_s']['median'])}  handoff {duration(a['handoff_time_s']['median'])}"
                f"  bugs {a['quality']['bugs_reported']}  lessons {a['lessons']['count']}"
                + ("  ⚠" if a["flag"] else "")
            )
    learned = [a for a in report["agencies"] if a["lessons"]["count"]]
    if learned:
        lines += ["", "Lessons (from rejections)"]
        for a in learned:
            les = a["lessons"]
            themes = ", ".join(f"{t['word']} ×{t['lessons']}" for t in les["themes"])
            lines.append(f"  {a['name']}: {les['count']} lesson{'s' if les['count'] != 1 else ''}"
                         + (f"; recurring: {themes}" if themes else ""))  # fmt: skip
            for lesson in les["recent"]:
                lines.append(f"    {lesson['date']} {lesson['branch']}: {_short(lesson['text'], 90)}")
    if report["flags"]:
        lines += ["", "Flags"]
        lines += [f"  ⚠ {flag}" for flag in report["flags"]]
    return "\n".join(lines)


def _last(values: list[float | None], fmt: Any) -> str:
    known = [v for v in values if v is not None]
    return f"latest {fmt(known[-1])}" if known else "—"


def _short(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
