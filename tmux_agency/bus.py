"""The message bus: persist first, then deliver into the right pane, once.

Two stores, both under registry/:
* `messages.jsonl` — the history, append-only, one event per line (a message, or a change of a
  message's delivery state). Each event carries the hash of the one before it, so any edit to
  the history is detectable (`tmux-agency log --verify`). Appending costs the same at 100 or
  100,000 messages.
* `message_queue.json` — a TinyDB table of the messages not yet delivered: small (empty while
  every agent is up), rewritten atomically under its lock.

A message is acknowledged when its recipient next sends a message of its own (it answered): the
history derives that, so acknowledging costs no write.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from tinydb import Query

from tmux_agency import registry as reg
from tmux_agency.activity import log_activity
from tmux_agency.delivery import type_into_agent
from tmux_agency.errors import UsageError
from tmux_agency.models import AgencyRecord, Message, MessageKind, utcnow
from tmux_agency.payloads import parse_payload, summary
from tmux_agency.programs import profile_for
from tmux_agency.records import get_record, load_records
from tmux_agency.registry import Registry
from tmux_agency.tmux import Tmux
from tmux_agency.workspace import AGENCY_ENV, AGENT_ENV, Workspace, validate_name

HISTORY = "messages.jsonl"
HUMAN = "human"

_PREFIX = re.compile(r"^\s*(STATUS|TASK|QUESTION|COMPLETE|BLOCKED)\b", re.IGNORECASE)
_TASK_ID = re.compile(r"^\s*TASK-[A-Za-z0-9_.-]+", re.IGNORECASE)
MAX_TEXT = 1_000_000  # characters: far above any briefing, far below what would choke tmux


def message_type(text: str, given: str | None = None) -> str:
    """STATUS, TASK, QUESTION, COMPLETE, BLOCKED from the text's prefix ('TASK-042: ...' is a
    TASK), else the `--type` given, else NOTE."""
    if given:
        kind = given.upper()
        if kind not in ("STATUS", "TASK", "QUESTION", "COMPLETE", "BLOCKED", "NOTE"):
            raise UsageError(f"unknown message type {given!r}: use STATUS, TASK, QUESTION, COMPLETE, BLOCKED or NOTE")
        return kind
    if _TASK_ID.match(text):
        return "TASK"
    match = _PREFIX.match(text)
    return match.group(1).upper() if match else "NOTE"


def new_message_id() -> str:
    # Sortable by time, unique across processes without coordination.
    return f"m{utcnow().strftime('%Y%m%d%H%M%S%f')}{secrets.token_hex(3)}"


def sender_from_env() -> tuple[str | None, str]:
    """Inside an agency pane the sender is that pane's agent; outside, the human."""
    agency = os.environ.get(AGENCY_ENV) or None
    agent = os.environ.get(AGENT_ENV) or None
    if agency and agent:
        return agency, agent
    return agency, HUMAN


def _chain_hash(event: dict[str, Any]) -> str:
    body = {k: v for k, v in event.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass
class SendResult:
    messages: list[Message]

    @property
    def delivered(self) -> int:
        return sum(1 for m in self.messages if m.state != "queued")


class Bus:
    def __init__(self, ws: Workspace, tmux: Tmux) -> None:
        self.ws = ws
        self.tmux = tmux
        self.registry = Registry(ws.registry_dir)
        self.lock_dir = ws.registry_dir / ".panes"

    # --- sending ----------------------------------------------------------------------------

    def send(
        self,
        agency: str,
        agent: str,
        text: str,
        sender: tuple[str | None, str] | None = None,
        type_: str | None = None,
    ) -> SendResult:
        """An intra-agency message (the seed's send-agency-message.sh)."""
        validate_name(agency, "agency name")
        if agent != "coordinator":
            validate_name(agent, "agent name")
        _check_text(text)
        record = get_record(self.ws, agency)
        target = record.agent(agent)
        if target is None:
            names = ", ".join(a.name for a in record.agents)
            raise UsageError(f"agency {agency} has no agent {agent!r} (agents: {names})")
        kind = message_type(text, type_)
        sender_agency, sender_agent = sender or sender_from_env()
        message = self._new(
            "intra", kind, sender_agency, sender_agent, agency, target.name, text, payload=None
        )
        return SendResult(self._persist_and_deliver([message]))

    def send_inter(self, from_agency: str, to_agency: str, json_text: str, sender_agent: str | None = None) -> SendResult:
        """An inter-agency JSON message, to the receiving agency's coordinator."""
        validate_name(from_agency, "agency name")
        validate_name(to_agency, "agency name")
        payload = parse_payload(json_text)
        record = get_record(self.ws, to_agency)
        coordinator = record.agent("coordinator")
        assert coordinator is not None
        body = json.dumps(payload, ensure_ascii=False)
        message = self._new(
            "inter", payload["type"], from_agency, sender_agent or "coordinator",
            to_agency, coordinator.name, body, payload,
        )  # fmt: skip
        return SendResult(self._persist_and_deliver([message]))

    def broadcast(self, from_name: str, json_text: str, sender_agent: str | None = None) -> SendResult:
        """A JSON message to every active agency's coordinator."""
        validate_name(from_name, "sender name")
        payload = parse_payload(json_text)
        records = [r for r in load_records(self.ws) if r.status == "running"]
        if not records:
            raise UsageError("no active agency to broadcast to (see 'tmux-agency list')")
        body = json.dumps(payload, ensure_ascii=False)
        messages = []
        for record in records:
            coordinator = record.agent("coordinator")
            assert coordinator is not None
            messages.append(
                self._new("broadcast", payload["type"], from_name, sender_agent, record.name, coordinator.name, body, payload)
            )
        return SendResult(self._persist_and_deliver(messages))

    def _new(
        self,
        kind: MessageKind,
        type_: str,
        sender_agency: str | None,
        sender_agent: str | None,
        agency: str,
        agent: str,
        body: str,
        payload: dict[str, Any] | None,
    ) -> Message:
        return Message(
            id=new_message_id(),
            time=utcnow(),
            kind=kind,
            type=type_,
            sender_agency=sender_agency,
            sender_agent=sender_agent,
            recipient_agency=agency,
            recipient_agent=agent,
            body=body,
            payload=payload,
        )

    # --- persistence ------------------------------------------------------------------------

    def _append_event(self, event: dict[str, Any]) -> None:
        """Append to the hash-chained history. The caller holds the history lock."""
        last = self.registry.last_line(HISTORY)
        event = {"seq": (last["seq"] + 1) if last else 1, **event, "prev": last["hash"] if last else None}
        event["hash"] = _chain_hash(event)
        self.registry.append_line(HISTORY, event)

    def _persist(self, messages: list[Message]) -> None:
        """History and queue first, so a crash before delivery leaves the message queued."""
        with self.registry.lock(HISTORY), self.registry.transaction(reg.MESSAGES) as queue:
            for message in messages:
                self._append_event({"event": "message", "message": message.model_dump(mode="json")})
                queue.insert(message.model_dump(mode="json"))
        for message in messages:
            self._log_activity(message)

    def _log_activity(self, message: Message) -> None:
        line = f"{message.sender_label()} → {message.recipient_label()} [{message.type}] {_short(message)}"
        agencies = {message.recipient_agency}
        if message.sender_agency and (self.ws.agencies_dir / message.sender_agency).is_dir():
            agencies.add(message.sender_agency)
        for agency in agencies:
            event = "RECEIVED" if agency == message.recipient_agency else "SENT"
            log_activity(self.ws.agency_dir(agency), event, line, when=message.time)

    # --- delivery ---------------------------------------------------------------------------

    def _persist_and_deliver(self, messages: list[Message]) -> list[Message]:
        self._persist(messages)
        recipients = {(m.recipient_agency, m.recipient_agent) for m in messages}
        states = {}
        for agency, agent in sorted(recipients):
            for delivered in self.deliver(agency, agent):
                states[delivered.id] = delivered
        return [states.get(m.id, m) for m in messages]

    def queued(self, agency: str | None = None, agent: str | None = None) -> list[Message]:
        """Messages not yet delivered, oldest first."""
        docs = [
            d
            for d in self.registry.snapshot(reg.MESSAGES).all()
            if (agency is None or d["recipient_agency"] == agency) and (agent is None or d["recipient_agent"] == agent)
        ]
        return sorted((Message.model_validate(d) for d in docs), key=lambda m: (m.time, m.id))

    def deliver(self, agency: str | None = None, agent: str | None = None) -> list[Message]:
        """Type every queued message (for one recipient, or all) into its pane, oldest first."""
        results = []
        records = {r.name: r for r in load_records(self.ws)}
        for message in self.queued(agency, agent):
            record = records.get(message.recipient_agency)
            results.append(self._deliver_one(message, record))
        return results

    def _deliver_one(self, message: Message, record: AgencyRecord | None) -> Message:
        target = record.agent(message.recipient_agent) if record else None
        if record is None or target is None:
            return self._set_reason(message, "the agency is no longer registered")
        profile = profile_for(target.program)

        def still_queued() -> bool:
            return self.registry.snapshot(reg.MESSAGES).contains(Query().id == message.id)

        outcome = type_into_agent(
            self.tmux, target.pane_id, render(message), profile, self.lock_dir, still_wanted=still_queued,
            on_typed=lambda: self._mark_delivered(message),
        )  # fmt: skip
        if outcome.outcome == "skipped":
            return message.model_copy(update={"state": "delivered"})
        if not outcome.ok:
            return self._set_reason(message, outcome.reason)
        return message.model_copy(update={"state": "delivered", "delivered_at": utcnow(), "reason": None})

    def _mark_delivered(self, message: Message) -> None:
        now = utcnow()
        with self.registry.lock(HISTORY), self.registry.transaction(reg.MESSAGES) as queue:
            self._append_event({"event": "state", "id": message.id, "state": "delivered", "time": now.isoformat()})
            queue.remove(Query().id == message.id)

    def _set_reason(self, message: Message, reason: str) -> Message:
        if message.reason != reason:
            with self.registry.transaction(reg.MESSAGES) as queue:
                queue.update({"reason": reason}, Query().id == message.id)
        return message.model_copy(update={"reason": reason})

    # --- reading ----------------------------------------------------------------------------

    def events(self, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self.registry.read_lines(HISTORY, offset)

    def history(self) -> list[Message]:
        """Every message with its latest delivery state, oldest first."""
        events, _ = self.events()
        return fold_history(events)

    def inbox(self, agency: str, agent: str | None = None) -> list[Message]:
        """Messages to an agency (or one agent), with why each still-queued one waits."""
        reasons = {m.id: m.reason for m in self.queued(agency, agent)}
        return [
            m.model_copy(update={"reason": reasons.get(m.id)}) if m.id in reasons else m
            for m in self.history()
            if m.recipient_agency == agency and (agent is None or m.recipient_agent == agent)
        ]


def fold_history(events: list[dict[str, Any]]) -> list[Message]:
    """Messages with their latest states. A delivered message is acknowledged once its recipient
    sends a message itself: it has answered."""
    messages: dict[str, Message] = {}
    awaiting: dict[tuple[str, str], list[str]] = {}  # recipient → delivered, not yet answered
    for event in events:
        if event.get("event") == "message":
            message = Message.model_validate(event["message"])
            messages[message.id] = message
            sender = (message.sender_agency or "", message.sender_agent or "")
            for answered in awaiting.pop(sender, []):
                messages[answered] = messages[answered].model_copy(
                    update={"state": "acknowledged", "acknowledged_at": message.time}
                )
        elif event.get("event") == "state" and event.get("id") in messages:
            current = messages[event["id"]]
            if event["state"] == "delivered" and current.state == "queued":
                messages[current.id] = current.model_copy(
                    update={"state": "delivered", "delivered_at": datetime.fromisoformat(event["time"]), "reason": None}
                )
                awaiting.setdefault((current.recipient_agency, current.recipient_agent), []).append(current.id)
    return list(messages.values())


def verify_chain(events: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> tuple[int, str | None]:
    """Check the hash chain; return (events checked, a description of the first bad one or None)."""
    prev = None
    count = 0
    for event in events:
        count += 1
        if event.get("prev") != prev:
            return count, f"event {event.get('seq', count)} does not follow the one before it (an event was removed or reordered)"
        if _chain_hash(event) != event.get("hash"):
            return count, f"event {event.get('seq', count)} was altered (its hash does not match its content)"
        prev = event["hash"]
    return count, None


def render(message: Message) -> str:
    """The text typed into the recipient's pane."""
    if message.kind == "intra":
        return message.body
    label = "broadcast" if message.kind == "broadcast" else message.type
    return f"[{label} from {message.sender_agency}] {message.body}"


def _short(message: Message) -> str:
    text = summary(message.payload) if message.payload else message.body
    flat = " ".join(text.split())
    return flat if len(flat) <= 200 else flat[:199] + "…"


def _check_text(text: str) -> None:
    if not text.strip():
        raise UsageError("the message text is empty")
    if len(text) > MAX_TEXT:
        raise UsageError(f"the message is {len(text):,} characters long; the limit is {MAX_TEXT:,}")
