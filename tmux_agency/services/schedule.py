"""Scheduled check-ins: a message to an agent later, once or every so often — the seed's git
discipline ("commit your work now") among them.

Check-ins live in registry/schedule.json (TinyDB, changed through Registry.change like every other
table), so they survive restarts of anything. Whatever of tmux-agency runs delivers them: the
control room on a timer, or `tmux-agency run`, the head-less dispatcher; both call
`dispatch_due`. A due check-in is claimed — removed, or moved to its next time — under the
file's lock and written before it is sent, so two dispatchers never send it twice; it is then
sent through the bus (sender "scheduler"), which persists it before typing it and queues it
while its agent is down.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from tmux_agency.doors import registry as reg
from tmux_agency.doors.registry import Registry, Table
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace, validate_name
from tmux_agency.models.errors import AgencyError, UsageError
from tmux_agency.models.names import COORDINATOR_ALIAS
from tmux_agency.models.schema import Checkin, utcnow
from tmux_agency.services.bus import MAX_TEXT, Bus, sender_from_env
from tmux_agency.services.records import raw_agent, raw_record

SCHEDULE = reg.SCHEDULE
SENDER = (None, "scheduler")
MIN_EVERY_S = 60
MAX_DURATION_S = 366 * 24 * 3600
COMMIT_REMINDER = (
    "Check-in (every {every}): commit your work now — git add -A && git commit -m '<what you did>'. "
    "Small commits, often: work that is not committed is not done."
)
RUN_INTERVAL_S = 5.0

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(?:\d+[smhd])+")


# --- durations and targets -----------------------------------------------------------------------


def parse_duration(text: str, what: str = "duration") -> int:
    """'30m', '2h', '1h30m', '45s', '1d' → seconds; UsageError naming the flag otherwise."""
    value = (text or "").strip().lower()
    if not _DURATION.fullmatch(value):
        raise UsageError(f"{what} {text!r}: use a number and a unit, e.g. 30m, 2h, 1h30m, 45s, 1d")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in re.findall(r"(\d+)([smhd])", value))
    if seconds <= 0:
        raise UsageError(f"{what} {text!r}: must be longer than nothing")
    if seconds > MAX_DURATION_S:
        raise UsageError(f"{what} {text!r}: must be at most a year")
    return seconds


def format_duration(seconds: float) -> str:
    """3600 → '1h', 5400 → '1h30m', 90 → '1m30s'."""
    seconds = int(round(seconds))
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def resolve_target(ws: Workspace, target: str) -> tuple[str, str]:
    """AGENCY (its coordinator) or AGENCY/AGENT, checked against the registry → (agency, agent).
    The coordinator alias is kept, so the reminder follows whoever coordinates."""
    agency, _, agent = (target or "").partition("/")
    validate_name(agency, "agency name")
    agent = agent or COORDINATOR_ALIAS
    if agent != COORDINATOR_ALIAS:
        validate_name(agent, "agent name")
    record = raw_record(ws, agency)
    if raw_agent(record, agent) is None:
        names = ", ".join(a["name"] for a in record.get("agents", []))
        raise UsageError(f"agency {agency} has no agent {agent!r} (agents: {names})")
    return agency, agent


def _check_text(text: str) -> str:
    if not text or not text.strip():
        raise UsageError("the check-in text is empty")
    if len(text) > MAX_TEXT:
        raise UsageError(f"the check-in text is {len(text):,} characters long; the limit is {MAX_TEXT:,}")
    return text


def _registry(ws: Workspace) -> Registry:
    return Registry(ws.registry_dir)


def _next_id(checkins: Table) -> int:
    """Ids are never reused, so `cancel 3` can never hit a newer check-in."""
    meta = checkins.table("meta")
    doc = meta.get(doc_id=1)
    last = max([doc["last_id"] if doc else 0, *checkins.doc_ids()])
    meta.upsert({"last_id": last + 1}, doc_id=1)
    return last + 1


def _stored(item: Checkin) -> dict[str, Any]:
    return item.model_dump(mode="json")


# --- adding, listing, cancelling -----------------------------------------------------------------


def add_checkin(
    ws: Workspace,
    target: str,
    text: str,
    in_s: int | None = None,
    every_s: int | None = None,
    now: datetime | None = None,
    kind: str = "reminder",
    created_by: str | None = None,
) -> Checkin:
    """Schedule `text` for `target` in `in_s` seconds (default: one `every_s` from now), then
    every `every_s` seconds if given. Everything is checked before the registry is touched."""
    if in_s is None and every_s is None:
        raise UsageError("say when: --in DURATION (once) and/or --every DURATION (repeating)")
    if every_s is not None and every_s < MIN_EVERY_S:
        raise UsageError(f"--every {format_duration(every_s)}: must be at least {format_duration(MIN_EVERY_S)}")
    _check_text(text)
    agency, agent = resolve_target(ws, target)
    now = now or utcnow()
    if created_by is None:
        sender = sender_from_env()
        created_by = f"{sender[0]}/{sender[1]}" if sender[0] else sender[1]
    with _registry(ws).change(SCHEDULE) as checkins:
        item = Checkin(
            id=_next_id(checkins),
            agency=agency,
            agent=agent,
            text=text,
            due=now + timedelta(seconds=in_s if in_s is not None else every_s or 0),
            every_s=every_s,
            kind=kind,  # type: ignore[arg-type]
            created_at=now,
            created_by=created_by,
        )
        checkins.insert(_stored(item), doc_id=item.id)
    return item


def list_checkins(ws: Workspace) -> list[Checkin]:
    """Every scheduled check-in, the next due first."""
    from pydantic import ValidationError

    from tmux_agency.doors.workspace import first_validation_error
    from tmux_agency.models.errors import WorldError

    try:
        items = [Checkin.model_validate(doc) for doc in _registry(ws).documents(SCHEDULE)]
    except ValidationError as exc:
        path = _registry(ws).path(SCHEDULE)
        raise WorldError(f"registry file {path} holds an invalid check-in: {first_validation_error(exc)}") from None
    return sorted(items, key=lambda c: (c.due, c.id))


def _parse_id(text: str) -> int:
    # ASCII digits only, nothing around them: isdigit() takes "³" (then int() fails) and a
    # trailing newline would be stripped into a valid id.
    if not re.fullmatch(r"#?[0-9]{1,18}", str(text)):
        raise UsageError(f"check-in id {text!r}: a number, as 'tmux-agency schedule list' shows it")
    return int(str(text).lstrip("#"))


def cancel_checkin(ws: Workspace, checkin_id: str | int) -> Checkin:
    """Remove a scheduled check-in; UsageError (registry unchanged) for an unknown id."""
    number = _parse_id(str(checkin_id))
    with _registry(ws).change(SCHEDULE) as checkins:
        doc = checkins.get(doc_id=number)
        if doc is None:
            raise UsageError(f"no check-in #{number}: see 'tmux-agency schedule list'")
        item = Checkin.model_validate(doc)
        checkins.remove(doc_id=number)
    return item


def cancel_for_agency(ws: Workspace, agency: str) -> list[Checkin]:
    """Remove every check-in of an agency (it was killed): nothing would receive them."""
    if not _registry(ws).exists(SCHEDULE):
        return []
    removed = []
    with _registry(ws).change(SCHEDULE) as checkins:
        for doc in checkins.all():
            if doc.get("agency") == agency:
                removed.append(Checkin.model_validate(doc))
                checkins.remove(doc_id=doc.doc_id)
    return removed


def ensure_commit_reminder(ws: Workspace, agency: str, now: datetime | None = None) -> Checkin | None:
    """The default check-in of every agency: its coordinator is reminded to commit every
    `checkin_minutes` (settings; None or 0 turns it off). At most one per agency: re-creating
    an agency keeps the reminder it had."""
    minutes = ws.settings().checkin_minutes
    if not minutes:
        return None
    every = minutes * 60
    text = COMMIT_REMINDER.format(every=format_duration(every))
    for item in list_checkins(ws):
        if item.kind == "commit-reminder" and item.agency == agency:
            return None
    return add_checkin(
        ws, agency, text, every_s=max(every, MIN_EVERY_S), now=now, kind="commit-reminder", created_by="tmux-agency"
    )


# --- dispatching ---------------------------------------------------------------------------------


def due_checkins(ws: Workspace, now: datetime | None = None) -> list[Checkin]:
    """The check-ins due at `now` (read only: dispatch_due claims and sends them)."""
    now = now or utcnow()
    return [item for item in list_checkins(ws) if item.due <= now]


def _following(item: Checkin, now: datetime) -> datetime:
    """The next time of a repeating check-in after `now`, keeping its rhythm: a dispatcher that
    was away for hours sends one reminder, not one per missed slot."""
    assert item.every_s
    missed = int((now - item.due).total_seconds() // item.every_s) + 1
    return item.due + timedelta(seconds=missed * item.every_s)


def dispatch_due(ws: Workspace, tmux: Tmux, now: datetime | None = None) -> list[dict[str, Any]]:
    """Send every check-in due at `now` through the bus, exactly once however many dispatchers
    run; return what happened to each: {id, agency, agent, text, state, message_id, reason}
    with state delivered / queued (its agent is down, or a dialog shows) / skipped (the last
    one still waits in the queue) / failed (its agency or agent is gone)."""
    now = now or utcnow()
    registry = _registry(ws)
    claimed: list[Checkin] = []
    with registry.change(SCHEDULE) as checkins:
        for doc in checkins.all():
            item = Checkin.model_validate(doc)
            if item.due > now:
                continue
            claimed.append(item)
            if item.every_s:
                checkins.update(
                    {"due": _following(item, now).isoformat(), "sent": item.sent + 1, "last_sent_at": now.isoformat()},
                    doc_id=item.id,
                )
            else:
                checkins.remove(doc_id=item.id)
    if not claimed:
        return []
    bus = Bus(ws, tmux)
    waiting = {m["id"] for m in bus.queued()} if any(c.every_s and c.last_message_id for c in claimed) else set()
    results = []
    for item in sorted(claimed, key=lambda c: (c.due, c.id)):
        result: dict[str, Any] = {"id": item.id, "agency": item.agency, "agent": item.agent, "text": item.text}
        if item.last_message_id and item.last_message_id in waiting:
            result.update(
                state="skipped",
                message_id=None,
                reason=f"the last one ({item.last_message_id}) still waits for its agent",
            )
        else:
            try:
                message = bus.send(item.agency, item.agent, item.text, sender=SENDER).messages[0]
            except AgencyError as exc:
                result.update(state="failed", message_id=None, reason=str(exc))
            else:
                result.update(state=message["state"], message_id=message["id"], reason=message.get("reason"))
        results.append(result)
    _record_outcomes(
        registry, [(c, r) for c, r in zip(sorted(claimed, key=lambda c: (c.due, c.id)), results) if c.every_s]
    )
    return results


def _record_outcomes(registry: Registry, outcomes: list[tuple[Checkin, dict[str, Any]]]) -> None:
    """Note on repeating check-ins which message they sent last, or why they could not."""
    if not outcomes:
        return
    with registry.change(SCHEDULE) as checkins:
        for item, result in outcomes:
            if checkins.get(doc_id=item.id) is None:
                continue  # cancelled meanwhile
            if result["state"] == "failed":
                checkins.update({"last_error": result["reason"]}, doc_id=item.id)
            elif result["state"] != "skipped":
                checkins.update({"last_message_id": result["message_id"], "last_error": None}, doc_id=item.id)


def describe(result: dict[str, Any]) -> str:
    """One line on a dispatched check-in."""
    target = f"{result['agency']}/{result['agent']}"
    line = f"check-in #{result['id']} → {target}: {result['state']}"
    if result.get("message_id"):
        line += f" ({result['message_id']})"
    if result.get("reason") and result["state"] != "delivered":
        line += f": {result['reason']}"
    return line
