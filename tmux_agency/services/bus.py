"""The message bus: persist first, then deliver into the right pane, once.

Two stores, both under registry/:
* `messages.jsonl` — the history, append-only, one event per line (a message, or a change of a
  message's delivery state). Each event carries the hash of the one before it and an HMAC of
  itself under the workspace's key, with a head record kept beside the log (chain.py), so an
  edit, a cut or a rehash is detectable (`tmux-agency log --verify`). Appending costs the same
  at 100 or 100,000 messages.
* `message_queue.json` — a TinyDB table of the messages that could not be delivered yet (their
  agent is down), with why; empty while every agent is up, so it costs nothing per message.

Sending appends the message to the history (the moment it is persisted: a crash after that
loses nothing), then types it into the recipient's pane and appends a `delivered` event. If the
agent is down the message joins the queue. If the sender dies in between, the next sweep
(`deliver`, `restore`, the control room) finds the message in the history — it reads only what
was appended since its checkpoint — and queues it. Whoever types a message first checks, under
the pane's lock, that the history holds no `delivered` (or `uncertain`) event for it, and claims
it before typing (delivery.py): a message is typed once at most, even when its typist is killed
halfway — then the pane's text decides between `delivered` and `uncertain`.

A message is acknowledged when its recipient next sends a message of its own (it answered): the
history derives that, so acknowledging costs no write.

Sending is the hottest path of the product (every agent calls it, constantly), so it handles
messages as plain dicts of the `Message` model's fields and never imports pydantic; reading
(inbox, log) turns them into `Message` models.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from datetime import datetime, timezone

from tmux_agency.doors import registry as reg
from tmux_agency.doors.activity import log_activity
from tmux_agency.doors.chain import HISTORY, HistoryChain, Verdict, verify
from tmux_agency.doors.registry import Registry
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV, Workspace, validate_name
from tmux_agency.models.errors import UsageError
from tmux_agency.models.names import COORDINATOR_ALIAS
from tmux_agency.services import traffic
from tmux_agency.services.delivery import Claim, probe_of, type_into_agent, visible_text
from tmux_agency.services.programs import profile_for
from tmux_agency.services.records import raw_agent, raw_record, raw_records

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path
    from typing import Any

    from tmux_agency.models.schema import Message

HUMAN = "human"
# Who may broadcast besides a registered agency: the seed's orchestrator, and the person.
SEED_SENDERS = ("MetaOrchestrator", HUMAN)
INTRA_TYPES = ("STATUS", "TASK", "QUESTION", "COMPLETE", "BLOCKED", "NOTE")

_PREFIX = re.compile(r"^\s*(STATUS|TASK|QUESTION|COMPLETE|BLOCKED)\b", re.IGNORECASE)
_TASK_ID = re.compile(r"^\s*TASK-[A-Za-z0-9_.-]+", re.IGNORECASE)
# A sweep leaves a message this young to its sender, who may still be delivering it.
CATCH_UP_GRACE_S = 10.0
MAX_TEXT = 1_000_000  # characters: far above any briefing, far below what would choke tmux
# Bytes every line of such an event holds (the history is written compactly): lines without
# them are skipped unparsed.
MESSAGE_EVENT = b'"event":"message"'
STATE_EVENT = b'"event":"state"'
# States after which a message is never typed again.
FINAL_STATES = (b'"state":"delivered"', b'"state":"uncertain"', b'"state":"dropped"')
# An event's kind is named in a line's first bytes ({"seq":N,"event":…), before any message text
# or payload, which may hold the same words; its id (a state event's, or its message's, which is
# written first) is the first "id" on the line. A line that does not look so is parsed instead.
_KIND_WITHIN = 48
_FIRST_ID = re.compile(rb'"id":"([^"\\]+)"')

Msg = dict  # one message (dict[str, Any]): the fields of models.Message, as stored


def message_type(text: str, given: str | None = None) -> str:
    """STATUS, TASK, QUESTION, COMPLETE, BLOCKED from the text's prefix ('TASK-042: ...' is a
    TASK), else the `--type` given, else NOTE."""
    if given:
        kind = given.upper()
        if kind not in INTRA_TYPES:
            raise UsageError(f"unknown message type {given!r}: use {', '.join(INTRA_TYPES[:-1])} or NOTE")
        return kind
    if _TASK_ID.match(text):
        return "TASK"
    match = _PREFIX.match(text)
    return match.group(1).upper() if match else "NOTE"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def new_message_id(now: datetime | None = None) -> str:
    # Sortable by time, unique across processes without coordination.
    return f"m{(now or _now()).strftime('%Y%m%d%H%M%S%f')}{os.urandom(3).hex()}"


def new_message(
    kind: str,
    type_: str,
    sender: tuple[str | None, str | None],
    recipient: tuple[str, str],
    body: str,
    payload: dict[str, Any] | None = None,
    *,
    message_id: str | None = None,
    at: datetime | None = None,
) -> Msg:
    """A queued message with every field of models.Message; `message_id` and `at` fix what is
    otherwise the clock's and chance's (sample data and tests that must be reproducible)."""
    now = at or _now()
    return {
        "id": message_id or new_message_id(now),
        "time": now.isoformat(),
        "kind": kind,
        "type": type_,
        "sender_agency": sender[0],
        "sender_agent": sender[1],
        "recipient_agency": recipient[0],
        "recipient_agent": recipient[1],
        "body": body,
        "payload": payload,
        "state": "queued",
        "delivered_at": None,
        "acknowledged_at": None,
        "reason": None,
    }


def sender_from_env() -> tuple[str | None, str]:
    """Inside an agency pane the sender is that pane's agent; outside, the human."""
    agency = os.environ.get(AGENCY_ENV) or None
    agent = os.environ.get(AGENT_ENV) or None
    if agency and agent:
        return agency, agent
    return agency, HUMAN


def label(agency: str | None, agent: str | None) -> str:
    if agency and agent:
        return f"{agency}/{agent}"
    return agency or agent or HUMAN


def payload_summary(payload: dict[str, Any]) -> str:
    """A short human line for a payload: 'handoff FEAT-123 feature/x (high)'."""
    bits = [str(payload.get("type", "message"))]
    for key in ("task", "branch", "status", "severity", "message"):
        if payload.get(key) and payload.get(key) != "none":
            bits.append(str(payload[key]))
    if payload.get("priority"):
        bits.append(f"({payload['priority']})")
    return " ".join(bits)


def render(message: Msg) -> str:
    """The text typed into the recipient's pane."""
    if message["kind"] == "intra":
        return message["body"]
    kind = "broadcast" if message["kind"] == "broadcast" else message["type"]
    return f"[{kind} from {message['sender_agency']}] {message['body']}"


class SendResult:
    """The messages one send made, each with its delivery state."""

    __slots__ = ("messages",)

    def __init__(self, messages: list[Msg]) -> None:
        self.messages = messages


class DeliveredIds:
    """Ids of the messages the history records as delivered or uncertain (never to be typed
    again), from an offset on: `read()` reads what was appended since the last read; `in` reads
    first, so it answers for this moment."""

    def __init__(self, registry: Registry, offset: int) -> None:
        self.registry, self.end = registry, offset
        self.ids: set[str] = set()

    def read(self) -> None:
        scan = self.registry.scan_lines(HISTORY, self.end, wanted=STATE_EVENT, raw=True)
        for _, line in scan:
            if STATE_EVENT not in line[:_KIND_WITHIN] or not any(state in line for state in FINAL_STATES):
                continue
            first_id = _FIRST_ID.search(line)
            if first_id is not None:
                self.ids.add(first_id.group(1).decode())
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("state") in ("delivered", "uncertain", "dropped"):
                self.ids.add(event["id"])
        self.end = scan.end

    def __contains__(self, message_id: str) -> bool:
        self.read()
        return message_id in self.ids


class Bus:
    def __init__(self, ws: Workspace, tmux: Tmux) -> None:
        self.ws = ws
        self.tmux = tmux
        self.registry = Registry(ws.registry_dir)
        self.chain = HistoryChain(self.registry)
        self.lock_dir = self.registry.pane_locks()
        self._agency_dirs: dict[str, Path] = {}

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
        if agent != COORDINATOR_ALIAS:
            validate_name(agent, "agent name")
        _check_text(text)
        kind = message_type(text, type_)
        record = raw_record(self.ws, agency)
        target = raw_agent(record, agent)
        if target is None:
            names = ", ".join(a["name"] for a in record.get("agents", []))
            raise UsageError(f"agency {agency} has no agent {agent!r} (agents: {names})")
        message = new_message("intra", kind, sender or sender_from_env(), (agency, target["name"]), text)
        return SendResult(self._persist_and_deliver([message]))

    def send_inter(
        self, from_agency: str, to_agency: str, json_text: str, sender_agent: str | None = None
    ) -> SendResult:
        """An inter-agency JSON message, to the receiving agency's coordinator."""
        from tmux_agency.models.payloads import parse_payload

        validate_name(from_agency, "agency name")
        validate_name(to_agency, "agency name")
        _check_text(json_text)  # before parsing: 2 MB of JSON is refused unread
        payload = parse_payload(json_text)
        _check_speaks_for(from_agency)
        raw_record(self.ws, from_agency)  # the sender must be an agency too
        coordinator = raw_agent(raw_record(self.ws, to_agency), COORDINATOR_ALIAS)
        assert coordinator is not None
        body = json.dumps(payload, ensure_ascii=False)
        sender = (from_agency, sender_agent or COORDINATOR_ALIAS)
        message = new_message("inter", payload["type"], sender, (to_agency, coordinator["name"]), body, payload)
        return SendResult(self._persist_and_deliver([message]))

    def broadcast(self, from_name: str, json_text: str, sender_agent: str | None = None) -> SendResult:
        """A JSON message to every active agency's coordinator."""
        from tmux_agency.models.payloads import parse_payload

        validate_name(from_name, "sender name")
        _check_text(json_text)  # before parsing: 2 MB of JSON is refused unread
        payload = parse_payload(json_text)
        _check_speaks_for(from_name)
        registered = raw_records(self.ws)
        if from_name not in SEED_SENDERS and not any(r.get("name") == from_name for r in registered):
            raise UsageError(
                f"unknown sender {from_name!r}: a broadcast comes from a registered agency, {' or '.join(SEED_SENDERS)}"
                " (see 'tmux-agency list')"
            )
        records = [r for r in registered if r.get("status") == "running"]
        if not records:
            raise UsageError("no active agency to broadcast to (see 'tmux-agency list')")
        body = json.dumps(payload, ensure_ascii=False)
        messages = []
        for record in records:
            coordinator = raw_agent(record, COORDINATOR_ALIAS)
            assert coordinator is not None
            recipient = (record["name"], coordinator["name"])
            messages.append(
                new_message("broadcast", payload["type"], (from_name, sender_agent), recipient, body, payload)
            )
        return SendResult(self._persist_and_deliver(messages))

    # --- persistence ------------------------------------------------------------------------

    def _append_event(self, event: dict[str, Any]) -> int:
        """Append to the hash-chained history; return the byte offset where the event starts.
        The caller holds the history lock."""
        return self.chain.append([event])[0]

    def _persist(self, messages: list[Msg]) -> list[int]:
        """Append the messages to the history: from here on they are kept. Return their offsets."""
        with self.registry.lock(HISTORY):
            # One write, one sync and one head for all of them (a broadcast to every coordinator).
            offsets = self.chain.append([{"event": "message", "message": message} for message in messages])
        for message in messages:
            self._log_activity(message)
        traffic.tell(self, messages)  # the task graph follows (services/__init__.py connects it)
        return offsets

    def _log_activity(self, message: Msg) -> None:
        text = payload_summary(message["payload"]) if message["payload"] else message["body"]
        line = (
            f"{label(message['sender_agency'], message['sender_agent'])} → "
            f"{message['recipient_agency']}/{message['recipient_agent']} [{message['type']}] {_short(text)}"
        )
        agencies = {message["recipient_agency"]}
        sender = message["sender_agency"]
        if sender and sender != message["recipient_agency"] and self._agency_dir(sender).is_dir():
            agencies.add(sender)
        when = datetime.fromisoformat(message["time"])
        for agency in agencies:
            event = "RECEIVED" if agency == message["recipient_agency"] else "SENT"
            log_activity(self._agency_dir(agency), event, line, when=when)

    def _agency_dir(self, agency: str) -> Path:
        folder = self._agency_dirs.get(agency)
        if folder is None:
            folder = self._agency_dirs[agency] = self.ws.agency_dir(agency)
        return folder

    # --- delivery ---------------------------------------------------------------------------

    def _persist_and_deliver(self, messages: list[Msg]) -> list[Msg]:
        offsets = self._persist(messages)
        records = {r["name"]: r for r in raw_records(self.ws)}
        results = []
        for message, offset in zip(messages, offsets):
            recipient = (message["recipient_agency"], message["recipient_agent"])
            # Older messages to the same agent go first: order is kept per recipient.
            if self.queued(*recipient):
                self.deliver(*recipient)
            result, _ = self._deliver_one(message, offset, records.get(message["recipient_agency"]))
            if result["state"] == "queued":
                self._enqueue(result, offset)
            results.append(result)
        return results

    def queued(self, agency: str | None = None, agent: str | None = None) -> list[Msg]:
        """Messages waiting for their agent, oldest first (each with its history `offset`)."""
        docs = [
            d
            for d in self.registry.documents(reg.MESSAGES)
            if (agency is None or d["recipient_agency"] == agency) and (agent is None or d["recipient_agent"] == agent)
        ]
        return sorted(docs, key=lambda m: (m["time"], m["id"]))

    def _enqueue(self, message: Msg, offset: int) -> None:
        with self.registry.change(reg.MESSAGES) as queue:
            queue.upsert({**message, "offset": offset}, id=message["id"])

    def catch_up(self, grace_s: float = CATCH_UP_GRACE_S) -> int:
        """Queue messages whose sender died between persisting and delivering; return how many.

        Reads the history from the checkpoint only, a line at a time, and parses only the lines
        it needs: the first sweep of a long history must not hold all of it in memory. Messages
        younger than `grace_s` may still be in their sender's hands, so they wait for a later sweep.
        """
        found = 0
        with self.registry.change(reg.MESSAGES) as queue:
            meta = queue.table("checkpoint")
            doc = meta.get(doc_id=1)
            start = doc["offset"] if doc else 0
            deliveries = DeliveredIds(self.registry, start)
            deliveries.read()
            end = deliveries.end  # both passes stop here: what is appended meanwhile waits for the next sweep
            queued = {d["id"] for d in queue.all()}
            now = _now().timestamp()
            horizon = now - grace_s
            checkpoint = end
            done = deliveries.ids | queued
            for offset, line in self.registry.scan_lines(HISTORY, start, wanted=MESSAGE_EVENT, stop=end, raw=True):
                if MESSAGE_EVENT not in line[:_KIND_WITHIN]:
                    continue
                first_id = _FIRST_ID.search(line)
                if first_id is not None and first_id.group(1).decode() in done:
                    continue  # the common case, decided without parsing the line
                try:
                    message = json.loads(line)["message"]
                except (ValueError, KeyError):
                    continue  # a torn line left by a killed writer
                if message["id"] in done:
                    continue
                sent = datetime.fromisoformat(message["time"]).timestamp()
                # Too young to judge: look again next time. A time further ahead than the grace
                # is a wrong clock, not a sender at work: waiting for it would hold the
                # checkpoint (and a rescan of everything after it) until that clock came round.
                if horizon < sent <= now + grace_s:
                    checkpoint = min(checkpoint, offset)
                    continue
                queue.insert({**message, "offset": offset, "reason": "its sender stopped before delivering it"})
                found += 1
            if checkpoint != start:
                meta.upsert({"offset": checkpoint}, doc_id=1)
        return found

    def deliver(self, agency: str | None = None, agent: str | None = None) -> list[Msg]:
        """Type every queued message (for one recipient, or all) into its pane, oldest first.
        Return what this process did with each: a message another process delivered meanwhile
        is not in the list."""
        self.catch_up()
        pending = self.queued(agency, agent)
        if not pending:
            return []
        records = {r["name"]: r for r in raw_records(self.ws)}
        # Whether another process delivered a message meanwhile: one read of the history from the
        # oldest pending message on, then only what is appended (not a read per message).
        deliveries = DeliveredIds(self.registry, min(m.get("offset", 0) for m in pending))
        results = []
        held: dict[tuple[str, str], str | None] = {}  # recipient → why its oldest message waits
        for message in pending:
            recipient = (message["recipient_agency"], message["recipient_agent"])
            if recipient in held:
                # It waits behind an older one: order is kept per recipient, and a pane that took
                # nothing a moment ago is not asked again for each message behind it.
                message.pop("offset", None)
                results.append({**message, "state": "queued", "reason": held[recipient]})
                continue
            offset = message.pop("offset", 0)
            result, elsewhere = self._deliver_one(message, offset, records.get(message["recipient_agency"]), deliveries)
            if result["state"] != "queued":
                with self.registry.change(reg.MESSAGES) as queue:
                    queue.remove(id=message["id"])
            else:
                held[recipient] = result.get("reason")
                if result.get("reason") != message.get("reason"):
                    self._enqueue(result, offset)
            if not elsewhere:
                results.append(result)
        return results

    def _deliver_one(
        self, message: Msg, offset: int, record: dict[str, Any] | None, deliveries: DeliveredIds | None = None
    ) -> tuple[Msg, bool]:
        """Deliver one message; return its new state, and whether another process had already
        delivered it (then this one did nothing)."""
        target = raw_agent(record, message["recipient_agent"]) if record else None
        if target is None:
            return {**message, "reason": "the agency is no longer registered"}, False
        profile = profile_for(target["program"], self.ws.root)
        seen = deliveries or DeliveredIds(self.registry, offset)
        recorded: list[str] = []

        def record_state(state: str, reason: str | None = None) -> None:
            recorded.append(self._record_state(message["id"], state, reason))

        text = render(message)
        outcome = type_into_agent(
            self.tmux,
            target.get("pane_id"),
            text,
            profile,
            self.lock_dir,
            still_wanted=lambda: message["id"] not in seen,
            on_typed=lambda: record_state("delivered"),
            on_uncertain=lambda why: record_state("uncertain", why),
            claim=Claim(message["id"], offset, probe_of(visible_text(text))),
            settle=lambda left, shown: self._settle(left, shown, seen),
            session=record.get("session") if record else None,
        )
        if outcome.outcome == "skipped":
            return {**message, "state": "delivered", "reason": None}, True
        if outcome.outcome == "uncertain":
            return {**message, "state": "uncertain", "reason": outcome.reason}, False
        if not outcome.ok:
            return {**message, "state": "queued", "reason": outcome.reason}, False
        return {**message, "state": "delivered", "delivered_at": recorded[0], "reason": None}, False

    def drop_queued(self, agency: str, reason: str) -> int:
        """Take every message waiting for `agency` off the queue for good (its agency is gone),
        recording why in the history; return how many."""
        self.catch_up(grace_s=0)  # messages whose sender died are waiting too
        with self.registry.change(reg.MESSAGES) as queue:
            doomed = queue.remove(recipient_agency=agency)
            for message in doomed:
                self._record_state(message["id"], "dropped", reason)
        return len(doomed)

    def _record_state(self, message_id: str, state: str, reason: str | None = None) -> str:
        """Append a change of a message's delivery state to the history; return its time."""
        now = _now().isoformat()
        event = {"event": "state", "id": message_id, "state": state, "time": now}
        if reason:
            event["reason"] = reason
        with self.registry.lock(HISTORY):
            self._append_event(event)
        return now

    def _settle(self, left: Claim, shown: bool, seen: DeliveredIds) -> None:
        """A deliverer was killed while it typed message `left`: record what the pane tells."""
        if left.message_id in seen:
            return  # it recorded the outcome before it stopped
        if shown:
            self._record_state(left.message_id, "delivered", "its deliverer stopped halfway; the pane shows its text")
        else:
            self._record_state(
                left.message_id,
                "uncertain",
                "its deliverer stopped while typing it and the pane does not show it: not typed again",
            )

    # --- reading ----------------------------------------------------------------------------

    def events(self, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self.registry.read_lines(HISTORY, offset)

    def verify_history(self) -> tuple[Verdict, Path]:
        """`log --verify`: the history checked against its hash chain, its key and its head
        (read-only), and where the history is."""
        return verify(self.registry), self.registry.path(HISTORY)

    def history(self) -> list[Message]:
        """Every message with its latest delivery state, oldest first."""
        events, _ = self.events()
        return fold_history(events)

    def newest(self, limit: int | None, wanted: Callable[[Msg], bool] | None = None) -> Newest:
        """The newest `limit` messages `wanted` keeps (every one with None), oldest first, each
        with its latest state: read from the end of the history, so what it costs follows what
        it returns, not how long the history is."""
        return newest_messages(self.registry.lines_backward(HISTORY), limit, wanted)

    def follow(self, offset: int) -> tuple[list[Message], int]:
        """Messages appended since byte `offset` of the history (`Newest.end`, or what this
        returned last), and where to read from next."""
        events, offset = self.events(offset)
        return fold_history(events), offset

    def inbox(self, agency: str, agent: str | None = None, limit: int | None = None) -> Newest:
        """The newest `limit` messages to an agency (or one agent), with why each still-queued
        one waits."""

        def to_them(message: Msg) -> bool:
            return message.get("recipient_agency") == agency and (
                agent is None or message.get("recipient_agent") == agent
            )

        found = self.newest(limit, to_them)
        reasons = {m["id"]: m.get("reason") for m in self.queued(agency, agent)}
        found.messages = [
            m.model_copy(update={"reason": reasons[m.id]}) if m.id in reasons else m for m in found.messages
        ]
        return found


class Newest:
    """What `Bus.newest` found: the messages, oldest first; whether older ones that might match
    were left unread; and `end`, where the history read ended (to follow it from there)."""

    __slots__ = ("messages", "more", "end")

    def __init__(self, messages: list[Message], more: bool, end: int) -> None:
        self.messages, self.more, self.end = messages, more, end


def newest_messages(
    lines: Iterable[tuple[int, bytes]], limit: int | None, wanted: Callable[[Msg], bool] | None
) -> Newest:
    """`fold_history` read backwards: from the history's lines newest first, the newest `limit`
    messages `wanted` keeps, each folded with the state events after it — the same states
    fold_history gives them. Memory follows the lines read, which stop once `limit` are found."""
    from pydantic import ValidationError

    from tmux_agency.models.schema import Message

    later_states: dict[str, list[dict[str, Any]]] = {}  # message id → its state events, newest first
    spoke: dict[tuple[str, str], list[tuple[int, str]]] = {}  # sender → (offset, time) of its messages, newest first
    found: list[Message] = []
    end = None
    for offset, line in lines:
        if end is None:
            end = offset + len(line) + 1  # just past the newest whole line
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a torn line left by a killed writer
        if not isinstance(event, dict):
            continue  # not an event tmux-agency wrote: 'log --verify' names its line
        if event.get("event") == "state" and isinstance(event.get("id"), str):
            event["offset"] = offset
            later_states.setdefault(event["id"], []).append(event)
            continue
        if event.get("event") != "message":
            continue
        raw = event.get("message")
        if not isinstance(raw, dict):
            continue
        if wanted is None or wanted(raw):
            try:
                message = Message.model_validate(raw)
            except ValidationError:
                message = None  # not a message tmux-agency wrote: 'log --verify' names its line
            if message is not None:
                found.append(_fold_states(message, later_states.pop(message.id, []), spoke))
                if limit is not None and len(found) >= limit:
                    return Newest(found[::-1], more=True, end=end or 0)
        sender = (raw.get("sender_agency") or "", raw.get("sender_agent") or "")
        if isinstance(raw.get("time"), str):
            spoke.setdefault(sender, []).append((offset, raw["time"]))
    return Newest(found[::-1], more=False, end=end or 0)


def _fold_states(
    message: Message, states_newest_first: list[dict[str, Any]], spoke: dict[tuple[str, str], list[tuple[int, str]]]
) -> Message:
    """A message with the state events that followed it, as fold_history applies them; a
    delivered one is acknowledged by its recipient's first message after the delivery."""
    delivered_at_offset = None
    for event in reversed(states_newest_first):
        moved = _after_state_event(message, event)
        if moved is not None:
            if moved.state == "delivered":
                delivered_at_offset = event["offset"]
            message = moved
    if delivered_at_offset is not None:
        # Newest first, so offsets fall: the answers past the delivery come first, and the first
        # answer after it is the last of those.
        answers = spoke.get((message.recipient_agency, message.recipient_agent), [])
        past = bisect.bisect_left(answers, -delivered_at_offset, key=lambda answer: -answer[0])
        if past:
            answered = datetime.fromisoformat(answers[past - 1][1])
            message = message.model_copy(update={"state": "acknowledged", "acknowledged_at": answered})
    return message


def _after_state_event(message: Message, event: dict[str, Any]) -> Message | None:
    """The message after one of its state events, or None when the event does not move it (a
    message is delivered from queued or uncertain, made uncertain or dropped only while queued,
    and an event whose time does not read is not tmux-agency's: 'log --verify' names it)."""
    if event.get("state") == "delivered" and message.state in ("queued", "uncertain"):
        try:
            when = datetime.fromisoformat(event["time"])
        except (KeyError, TypeError, ValueError):
            return None
        return message.model_copy(update={"state": "delivered", "delivered_at": when, "reason": None})
    if event.get("state") in ("uncertain", "dropped") and message.state == "queued":
        return message.model_copy(update={"state": event["state"], "reason": event.get("reason")})
    return None


def fold_history(events: Iterable[dict[str, Any]]) -> list[Message]:
    """Messages with their latest states. A delivered message is acknowledged once its recipient
    sends a message itself: it has answered."""
    from pydantic import ValidationError

    from tmux_agency.models.schema import Message

    messages: dict[str, Message] = {}
    awaiting: dict[tuple[str, str], list[str]] = {}  # recipient → delivered, not yet answered
    for event in events:
        if event.get("event") == "message":
            try:
                message = Message.model_validate(event.get("message"))
            except ValidationError:
                continue  # not a message tmux-agency wrote: 'log --verify' names its line
            messages[message.id] = message
            sender = (message.sender_agency or "", message.sender_agent or "")
            for answered in awaiting.pop(sender, []):
                messages[answered] = messages[answered].model_copy(
                    update={"state": "acknowledged", "acknowledged_at": message.time}
                )
        elif event.get("event") == "state" and isinstance(event.get("id"), str) and event["id"] in messages:
            moved = _after_state_event(messages[event["id"]], event)
            if moved is not None:
                messages[moved.id] = moved
                if moved.state == "delivered":
                    awaiting.setdefault((moved.recipient_agency, moved.recipient_agent), []).append(moved.id)
    return list(messages.values())


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 200 else flat[:199] + "…"


def _check_speaks_for(sender: str) -> None:
    """Inside an agency's panes (TMUX_AGENCY_AGENCY is set) a message between agencies goes out
    under that agency's name only: an agent must not speak for another agency."""
    inside = os.environ.get(AGENCY_ENV)
    if inside and sender != inside:
        raise UsageError(f"this pane belongs to agency {inside}: it cannot send as {sender!r}")


def _check_text(text: str) -> None:
    if not text.strip():
        raise UsageError("the message text is empty")
    if len(text) > MAX_TEXT:
        raise UsageError(f"the message is {len(text):,} characters long; the limit is {MAX_TEXT:,}")
