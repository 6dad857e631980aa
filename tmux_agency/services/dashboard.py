"""What the control room shows, read from the registry and tmux in as few calls as possible.

One `list-panes -a` and one look at /proc per refresh, however many agents; a pane's text is
captured only for the agents the caller says are on screen. The message history is read from
its end first (the first frame must not wait for 100,000 messages), the rest on request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tmux_agency.doors import registry as reg
from tmux_agency.doors.processes import ProcessTable
from tmux_agency.doors.registry import Registry
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.errors import AgencyError, WorldError
from tmux_agency.services.agent_state import program_state
from tmux_agency.services.bus import HISTORY, payload_summary
from tmux_agency.services.delivery import visible_text
from tmux_agency.services.programs import ProgramProfile, screen_state
from tmux_agency.services.records import raw_records

AgentState = str  # dialog | needs-you | busy | waiting | idle | running | down | unknown
FEED_TEXT = 400  # characters of a message the feed keeps: what one line can show


@dataclass(frozen=True)
class AgentView:
    agency: str
    name: str
    coordinator: bool
    pane_id: str | None
    program: str
    state: AgentState
    queued: int = 0


@dataclass(frozen=True)
class AgencyView:
    name: str
    status: str  # running | stopped
    agents: tuple[AgentView, ...]
    capabilities: tuple[str, ...] = ()

    @property
    def up(self) -> int:
        return sum(1 for a in self.agents if a.state != "down")


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One message as the feed shows it."""

    id: str
    time: datetime
    kind: str
    type: str
    sender: str
    recipient: str
    text: str
    agencies: tuple[str, ...]  # the agencies it concerns, for the filter

    @property
    def text_after_type(self) -> str:
        """The text without a leading repeat of its type: shown beside a type column, "STATUS
        x: …" says STATUS once."""
        text, kind = self.text, self.type
        if text[: len(kind)].upper() == kind and text[len(kind) : len(kind) + 1] in (" ", ":"):
            return text[len(kind) :].lstrip(" :")
        return text

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> FeedRow:
        sender_agency, sender_agent = message.get("sender_agency"), message.get("sender_agent")
        if sender_agency and sender_agent and message["kind"] == "intra":
            sender = f"{sender_agency}/{sender_agent}"
        else:
            sender = sender_agency or sender_agent or "human"
        if message["kind"] == "intra":
            recipient = message["recipient_agent"]
        else:
            recipient = message["recipient_agency"]
        if message.get("payload"):
            # The type has its own column: the summary without its leading type word.
            text = payload_summary(message["payload"]).removeprefix(str(message["payload"].get("type", ""))).strip()
        else:
            text = message["body"]
        return cls(
            id=message["id"],
            time=datetime.fromisoformat(message["time"]),
            kind=message["kind"],
            type=message["type"],
            sender=sender,
            recipient=recipient,
            text=" ".join(visible_text(text).split())[:FEED_TEXT],  # no ESC reaches the terminal
            agencies=tuple(a for a in (sender_agency, message["recipient_agency"]) if a),
        )


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task as the task graph draws it."""

    id: str
    title: str
    agency: str | None
    after: tuple[str, ...]
    state: str
    priority: str


@dataclass(frozen=True, slots=True)
class ApprovalView:
    """An item of the approval queue with the facts the control room shows."""

    id: int
    agency: str
    branch: str
    base: str
    title: str
    commit: str
    revision: int
    passed: int
    failed: int
    skipped: int
    coverage: float | None
    files_changed: int
    additions: int
    deletions: int
    demo_url: str | None


@dataclass
class HistoryWindow:
    """Feed rows read so far, and where in the history file they came from."""

    rows: list[FeedRow] = field(default_factory=list)
    start: int = 0  # byte offset of the oldest row read
    end: int = 0  # byte offset to read new rows from


def detect_state(profile: ProgramProfile, screen: str) -> AgentState:
    """dialog (waiting for the person to answer it), waiting, busy or idle, by the profile's
    rules (programs.screen_state); "running" when none matches."""
    return screen_state(profile, screen)[0]


class Dashboard:
    def __init__(self, ws: Workspace, tmux: Tmux) -> None:
        self.ws = ws
        self.tmux = tmux
        self.registry = Registry(ws.registry_dir)
        self.tmux_error: str | None = None
        self.profile_error: str | None = None  # a workspace profile that does not load

    # --- agencies ------------------------------------------------------------------------------

    def agencies(self, capture: set[str] | None = None, first: int = 40) -> list[AgencyView]:
        """Every registered agency with each agent's state. Panes are captured only for agents
        in `capture` (pane ids on screen) — or, when it is None, the `first` agents listed;
        others show running/down from the process table."""
        records = raw_records(self.ws)
        self.profile_error = None
        try:
            panes = {p.pane_id: p for p in self.tmux.list_panes(strict=True)}
            self.tmux_error = None
        except AgencyError as exc:
            panes = {}
            self.tmux_error = str(exc)
        sessions = {p.session for p in panes.values()}
        table = ProcessTable.snapshot()
        queued = self._queued_counts()
        budget = [first]  # captures left when the caller named no panes
        # First what every agent runs (from the pane list and /proc); then, in one tmux call,
        # the screens of the running agents that are wanted, whose text tells their state.
        looked_at: list[
            tuple[dict, list[tuple[dict, ProgramProfile | None, str]]]
        ] = []  # state "look": its screen decides
        for record in sorted(records, key=lambda r: r["name"]):
            found: list[tuple[dict, ProgramProfile | None, str]] = []
            for agent in record.get("agents", []):
                state, profile, why = program_state(
                    self.ws, record.get("session"), agent.get("pane_id"), agent["program"], panes, table
                )
                if why:
                    self.profile_error = why
                # A running program's screen tells more (busy, idle, a dialog): "look" at it.
                look = state == "running" and profile is not None and self._wanted(agent["pane_id"], capture, budget)
                found.append((agent, profile, "look" if look else state))
            looked_at.append((record, found))
        to_capture = [agent["pane_id"] for _, found in looked_at for agent, _, state in found if state == "look"]
        screens = self._capture_many(to_capture)
        return [
            AgencyView(
                name=record["name"],
                status="running" if record.get("session") in sessions else "stopped",
                agents=tuple(
                    AgentView(
                        agency=record["name"],
                        name=agent["name"],
                        coordinator=bool(agent.get("is_coordinator")),
                        pane_id=agent.get("pane_id"),
                        program=agent["program"],
                        state=detect_state(profile, screens.get(agent["pane_id"], ""))
                        if state == "look" and profile
                        else state,
                        queued=queued.get((record["name"], agent["name"]), 0),
                    )
                    for agent, profile, state in found
                ),
                capabilities=tuple(record.get("spec", {}).get("capabilities", [])),
            )
            for record, found in looked_at
        ]

    @staticmethod
    def _wanted(pane_id: str, capture: set[str] | None, budget: list[int]) -> bool:
        if capture is not None:
            return pane_id in capture
        budget[0] -= 1
        return budget[0] >= 0

    def _queued_counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for doc in self.registry.documents(reg.MESSAGES):
            key = (doc["recipient_agency"], doc["recipient_agent"])
            counts[key] = counts.get(key, 0) + 1
        return counts

    def _capture_many(self, pane_ids: list[str]) -> dict[str, str]:
        try:
            return self.tmux.capture_many(pane_ids)
        except AgencyError:
            return {}

    def preview(self, pane_id: str | None) -> str:
        if not pane_id:
            return ""
        try:
            return self.tmux.capture(pane_id)
        except AgencyError:
            return ""

    # --- messages ------------------------------------------------------------------------------

    def history_tail(self, max_bytes: int = 512 * 1024) -> HistoryWindow:
        """The newest messages, read from the end of the history: cheap at any size."""
        start = self.registry.tail_start(HISTORY, max_bytes)
        if start is None:
            return HistoryWindow()
        rows, end = self._rows(start)
        return HistoryWindow(rows=rows, start=start, end=end)

    def history_before(self, window: HistoryWindow) -> list[FeedRow]:
        """Everything older than the window (read in the background, after the first frame)."""
        if window.start == 0:
            return []
        rows = []
        # Streamed line by line, and state events skipped before parsing: the history can be
        # 100,000 messages and more; only the small rows stay in memory.
        for line in self.registry.raw_lines(HISTORY, stop=window.start):
            if b'"event":"message"' not in line[:60]:
                continue
            try:
                rows.append(FeedRow.from_message(json.loads(line)["message"]))
            except (ValueError, KeyError):
                continue  # a torn line left by a killed writer
        return rows

    def history_after(self, window: HistoryWindow) -> list[FeedRow]:
        rows, window.end = self._rows(window.end)
        window.rows.extend(rows)
        return rows

    def _rows(self, offset: int) -> tuple[list[FeedRow], int]:
        events, end = self.registry.read_lines(HISTORY, offset)
        return [FeedRow.from_message(e["message"]) for e in events if e.get("event") == "message"], end

    # --- tasks and approvals -------------------------------------------------------------------

    # Both are read as stored, without the pydantic models: they were validated when written,
    # and building the models' validators costs the first frame ~50 ms of imports. A file that
    # does not read raises AgencyError (a corrupt one is moved aside by the registry).

    def tasks(self) -> list[TaskView]:
        with _readable(reg.TASKS):
            return [
                TaskView(
                    id=doc["id"],
                    title=doc.get("title", ""),
                    agency=doc.get("agency"),
                    after=tuple(doc.get("after", ())),
                    state=doc.get("state", "submitted"),
                    priority=doc.get("priority", "medium"),
                )
                for doc in self.registry.documents(reg.TASKS)
            ]

    def approvals(self) -> list[ApprovalView]:
        """The items waiting for review, oldest first (as `tmux-agency approvals` lists them)."""
        with _readable(reg.APPROVALS):
            docs = self.registry.documents(reg.APPROVALS)
            pending = sorted((d for d in docs if d.get("status", "pending") == "pending"), key=lambda d: d["id"])
            return [_approval_view(doc) for doc in pending]


@contextmanager
def _readable(name: str) -> Iterator[None]:
    """A document without the fields every writer gives it is named, not shown half-read."""
    try:
        yield
    except (KeyError, TypeError, AttributeError) as exc:
        raise WorldError(
            f"registry/{name} has an entry the control room cannot read ({type(exc).__name__}: {exc})"
        ) from None


def _approval_view(doc: dict[str, Any]) -> ApprovalView:
    tests = doc.get("tests", {})
    return ApprovalView(
        id=doc["id"],
        agency=doc["agency"],
        branch=doc["branch"],
        base=doc["base"],
        title=doc["title"],
        commit=doc.get("commit", ""),
        revision=doc.get("revision", 1),
        passed=tests.get("passed", 0),
        failed=tests.get("failed", 0),
        skipped=tests.get("skipped", 0),
        coverage=doc.get("coverage"),
        files_changed=doc.get("files_changed", 0),
        additions=doc.get("additions", 0),
        deletions=doc.get("deletions", 0),
        demo_url=doc.get("demo_url"),
    )


def registry_file_kind(path: str | Path) -> str | None:
    """Which pane a changed registry file feeds: agencies, messages, tasks or approvals."""
    name = Path(path).name
    if name.startswith(".") or name.endswith(".tmp") or ".corrupt-" in name:
        return None
    return {
        reg.AGENCIES: "agencies",
        reg.MESSAGES: "agencies",  # queued counts
        HISTORY: "messages",
        reg.TASKS: "tasks",
        reg.APPROVALS: "approvals",
    }.get(name)
