"""What the control room shows, read from the registry and tmux in as few calls as possible.

One `list-panes -a` and one look at /proc per refresh, however many agents; a pane's text is
captured only for the agents the caller says are on screen. The message history is read from
its end first (the first frame must not wait for 100,000 messages), the rest on request.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tmux_agency import registry as reg
from tmux_agency.bus import HISTORY, payload_summary
from tmux_agency.errors import AgencyError
from tmux_agency.models import ApprovalItem, TaskRecord
from tmux_agency.processes import ProcessTable
from tmux_agency.programs import ProgramProfile, profile_for, program_running, screen_state
from tmux_agency.records import raw_records
from tmux_agency.registry import Registry
from tmux_agency.tmux import Tmux
from tmux_agency.workspace import Workspace

AgentState = str  # dialog | busy | waiting | idle | running | down
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
            text=" ".join(text.split())[:FEED_TEXT],
            agencies=tuple(a for a in (sender_agency, message["recipient_agency"]) if a),
        )


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
        views = []
        for record in sorted(records, key=lambda r: r["name"]):
            agents = []
            for agent in record.get("agents", []):
                pane = panes.get(agent.get("pane_id") or "")
                if pane is not None and pane.session != record.get("session"):
                    pane = None  # a pane id reused by another session after a server restart
                try:
                    profile = profile_for(agent["program"], self.ws.root)
                except AgencyError as exc:  # a broken profiles/*.json: say so, show the rest
                    self.profile_error, profile = str(exc), None
                if profile is None:
                    state = "unknown"
                elif pane is None or pane.dead or not program_running(profile, pane.pane_pid, table):
                    state = "down"
                elif self._wanted(pane.pane_id, capture, budget):
                    state = detect_state(profile, self._capture(pane.pane_id))
                else:
                    state = "running"
                agents.append(
                    AgentView(
                        agency=record["name"],
                        name=agent["name"],
                        coordinator=bool(agent.get("is_coordinator")),
                        pane_id=agent.get("pane_id"),
                        program=agent["program"],
                        state=state,
                        queued=queued.get((record["name"], agent["name"]), 0),
                    )
                )
            running = record.get("session") in sessions
            views.append(
                AgencyView(
                    name=record["name"],
                    status="running" if running else "stopped",
                    agents=tuple(agents),
                    capabilities=tuple(record.get("spec", {}).get("capabilities", [])),
                )
            )
        return views

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

    def _capture(self, pane_id: str) -> str:
        try:
            return self.tmux.capture(pane_id)
        except AgencyError:
            return ""

    def preview(self, pane_id: str | None) -> str:
        if not pane_id:
            return ""
        return self._capture(pane_id)

    # --- messages ------------------------------------------------------------------------------

    def history_tail(self, max_bytes: int = 512 * 1024) -> HistoryWindow:
        """The newest messages, read from the end of the history: cheap at any size."""
        path = self.registry.path(HISTORY)
        try:
            size = os.path.getsize(path)
        except OSError:
            return HistoryWindow()
        start = max(0, size - max_bytes)
        if start:
            with open(path, "rb") as handle:
                handle.seek(start)
                handle.readline()  # skip the partial first line
                start = handle.tell()
        rows, end = self._rows(start)
        return HistoryWindow(rows=rows, start=start, end=end)

    def history_before(self, window: HistoryWindow) -> list[FeedRow]:
        """Everything older than the window (read in the background, after the first frame)."""
        if window.start == 0:
            return []
        rows = []
        # Streamed line by line, and state events skipped before parsing: the history can be
        # 100,000 messages and more; only the small rows stay in memory.
        with open(self.registry.path(HISTORY), "rb") as handle:
            for line in handle:
                if handle.tell() > window.start:
                    break
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

    def tasks(self) -> list[TaskRecord]:
        """The task graph as stored, for showing: it was validated when written, so the records
        are built without validation (which costs ~50 ms of schema building at start-up)."""
        try:
            return [TaskRecord.model_construct(**doc) for doc in self.registry.documents(reg.TASKS)]
        except (AgencyError, ValueError, TypeError):
            return []

    def approvals(self) -> list[ApprovalItem]:
        from tmux_agency.approvals import items

        return items(self.ws)


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

