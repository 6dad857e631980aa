"""What the metrics read: the task graph, the approval queue's steps, the message log and the
agencies' lessons, through the registry door, turned into facts (facts.py). No figures here.

The message log is read incrementally: a `MessageScan` kept between calls reads only the lines
appended since the last (the control room refreshes on every message; a full read of 100,000
messages takes ~0.4 s).
"""

from __future__ import annotations

import json
import re

from tmux_agency.doors import registry as reg
from tmux_agency.doors.chain import HISTORY
from tmux_agency.doors.registry import Registry
from tmux_agency.doors.workspace import Workspace
from tmux_agency.services.metrics.facts import (
    BugReport,
    Handoff,
    Lesson,
    ReviewEvent,
    Scanned,
    Score,
    Step,
    Task,
    utc,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

# The head of a message line as bus._append_event writes it (keys in new_message's order):
# enough to count and route a line without parsing its JSON. Lines that do not match (a type or
# agent name with an escaped character, another key order) are parsed.
_HEAD = re.compile(
    rb'\{"seq":\d+,"event":"message","message":\{"id":"[^"]*","time":"([^"]+)","kind":"(\w+)",'
    rb'"type":"([^"\\]*)","sender_agency":(?:null|"([^"]*)"),"sender_agent":(?:null|"[^"\\]*"),'
    rb'"recipient_agency":"([^"]*)"'
)
_LESSON = re.compile(r"^- (\d{4}-\d{2}-\d{2}) (.*?)(?: \(approval #(\d+)[^)]*\))?: (.*)$")


def read(ws: Workspace, messages: MessageScan | None = None) -> Scanned:
    """Everything the metrics are computed from. Pass the same `messages` scan to each call to
    read only what the message log gained since the last."""
    from tmux_agency.services.records import raw_records

    registry = Registry(ws.registry_dir)
    tasks = tuple(_task(doc) for doc in registry.documents(reg.TASKS))
    reviews = tuple(review_events(ws))
    if messages is None:
        messages = MessageScan()
    messages.update(registry)
    lessons = {
        path.parent.name: tuple(read_lessons(ws, path.parent.name)) for path in ws.agencies_dir.glob("*/lessons.md")
    }
    agencies = {t.agency for t in tasks if t.agency} | {e.agency for e in reviews if e.agency}
    agencies |= {r["name"] for r in raw_records(ws)} | set(lessons)
    return Scanned(
        tasks=tasks,
        reviews=reviews,
        handoffs=tuple(messages.handoffs),
        bug_reports=tuple(messages.bugs),
        scores=tuple(messages.scores),
        messages=messages.counted(),
        agencies=frozenset(agencies),
        lessons=lessons,
    )


# --- the task graph ------------------------------------------------------------------------------


def _task(doc: dict[str, Any]) -> Task:
    steps = ((utc(h.get("time")), h) for h in doc.get("history") or [])
    return Task(
        agency=doc.get("agency"),
        state=doc.get("state"),
        rejections=int(doc.get("rejections") or 0),
        updated_at=utc(doc.get("updated_at")),
        history=tuple(Step(t, h.get("state"), h.get("event")) for t, h in steps if t is not None),
    )


# --- the approval queue's steps ------------------------------------------------------------------


def review_events(ws: Workspace) -> list[ReviewEvent]:
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
            "approval": item.get("id"),
            "agency": item.get("agency"),
            "branch": item.get("branch"),
            "revision": item.get("revision", 1),
            "task": None,
            "tests": item.get("tests") or {},
            "coverage": item.get("coverage"),
        }
        events.append({**base, "status": "pending", "time": item.get("created_at")})
        if item.get("status") in ("approved", "rejected") and item.get("decided_at"):
            events.append(
                {**base, "status": item["status"], "time": item["decided_at"], "decided_at": item["decided_at"]}
            )
        elif item.get("feedback"):
            events.append({**base, "status": "rejected", "time": item.get("created_at")})
    found = [event for event in map(_review_event, events) if event is not None]
    found.sort(key=lambda e: e.time)
    return found


def _review_event(event: dict[str, Any]) -> ReviewEvent | None:
    time = utc(event.get("time"))
    if time is None:
        return None
    tests = event.get("tests")
    coverage = event.get("coverage")
    return ReviewEvent(
        approval=event.get("approval"),
        agency=event.get("agency"),
        status=event.get("status"),
        time=time,
        decided_at=utc(event.get("decided_at")),
        tests=tests if isinstance(tests, dict) else {},
        coverage=float(coverage) if isinstance(coverage, (int, float)) and not isinstance(coverage, bool) else None,
    )


# --- lessons -------------------------------------------------------------------------------------


def read_lessons(ws: Workspace, agency: str) -> list[Lesson]:
    """agencies/NAME/lessons.md, one Lesson per line in its format (`- DATE BRANCH: TEXT`)."""
    path = ws.agencies_dir / agency / "lessons.md"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    found = []
    for line in lines:
        match = _LESSON.match(line.strip())
        if match:
            found.append(Lesson(date=match.group(1), branch=match.group(2), text=match.group(4)))
    return found


# --- the message log, streamed -------------------------------------------------------------------


def _message_lines(lines: Iterable[bytes]) -> Iterator[tuple[bytes, bytes, bytes, bytes | None, bytes, bytes]]:
    """(time, kind, type, sender agency, recipient agency, raw line) of every message event, as
    bytes: at 100,000 messages, decoding only what is used is what keeps this fast."""
    match = _HEAD.match
    for line in lines:
        if line.find(b'"event":"state"', 0, 48) != -1:
            continue  # a delivery event
        head = match(line)
        if head is not None:
            time, kind, type_, sender, recipient = head.group(1, 2, 3, 4, 5)
            yield time, kind, type_, sender, recipient, line
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
                message["time"].encode(),
                message["kind"].encode(),
                str(message["type"]).encode(),
                sender.encode() if sender else None,
                message["recipient_agency"].encode(),
                line,
            )
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


class MessageScan:
    """What the message log says for the metrics, read incrementally: keep one and pass it to
    `read` each time — each call reads only the lines appended since the last. (A mutable
    accumulator, not a value: `read` hands `compute` a frozen copy of what it holds.)"""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.offset = 0
        self.handoffs: list[Handoff] = []
        self.waiting: dict[bytes, list[int]] = {}  # receiving agency → its unanswered handoffs
        self.bugs: list[BugReport] = []  # against the recipient of the results
        self.scores: list[Score] = []
        self.counts: dict[tuple[bytes, bytes | None], int] = {}  # (day, agency; None: all) → messages

    def update(self, registry: Registry) -> None:
        size = registry.size(HISTORY)
        if size is None:
            return
        if size < self.offset:
            self._reset()  # the log was replaced: start over
        lines = registry.raw_lines(HISTORY, self.offset)  # whole lines: a partial last one waits
        self._read(lines)
        self.offset = lines.end

    def counted(self) -> dict[tuple[str, str | None], int]:
        """Messages per (day, agency), decoded; agency None: all."""
        counted: dict[tuple[str, str | None], int] = {}
        for (day, agency), n in self.counts.items():
            key = (day.decode(errors="replace"), agency.decode(errors="replace") if agency is not None else None)
            counted[key] = counted.get(key, 0) + n
        return counted

    def _read(self, lines: Iterable[bytes]) -> None:
        counts, waiting, handoffs = self.counts, self.waiting, self.handoffs
        key: tuple[bytes, bytes | None]
        for time_raw, kind, type_, sender, recipient, line in _message_lines(lines):
            if sender is not None and sender in waiting:
                answered = utc(time_raw.decode())
                if answered is not None:  # an unreadable time answers nothing
                    for index in waiting.pop(sender):
                        h = handoffs[index]
                        handoffs[index] = Handoff(h.to, h.sender, h.sent, max((answered - h.sent).total_seconds(), 0.0))
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
                sent = utc(time_raw.decode())
                if sent is not None:
                    handoffs.append(Handoff(recipient.decode(), sender.decode() if sender else None, sent, None))
                    waiting.setdefault(recipient, []).append(len(handoffs) - 1)
            if type_ == b"results" or b'score"' in line:
                when = utc(time_raw.decode())
                if when is None:
                    continue
                payload = _payload(line)
                who = sender.decode() if sender else None
                if type_ == b"results":
                    bugs = _bugs(payload)
                    if bugs:
                        self.bugs.append(BugReport(recipient.decode(), who, when, bugs))
                score = _score(payload)
                if score is not None:
                    self.scores.append(Score(who, when, score))
