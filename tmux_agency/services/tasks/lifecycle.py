"""The task graph's life cycle: adding tasks and dependencies, sending ready tasks to their
agencies, and moving tasks as the traffic and the approval queue say.

A task is *ready* when it is `submitted` and every task it waits for is `completed`. A ready
task that names an agency is sent to that agency's coordinator as a TASK message
(`TASK-T-4: title …`) and from then on the messages move it:

    STATUS                          submitted, blocked → working
    BLOCKED, QUESTION               submitted, working → blocked
    COMPLETE, handoff               submitted, working, blocked → in_review when its agency's
                                    work goes through the sandbox (agency.json has a
                                    sandbox.test_command), else completed
    deploy (joins approval queue)   any but failed/canceled → in_review
    approval                        → completed; newly ready tasks are dispatched
    rejection                       → working; the tasks after it that had started go back
                                    to submitted (waiting), and their agencies are told

A message moves the task it names (`T-4` in its text, or its payload's `task` field) if that
task belongs to the sending agency; failing that, the sending agency's only task in hand (sent
to it and not finished). `task done|fail|cancel` set the end states by hand.

Agents call `send` constantly, so what the traffic path needs (`on_traffic`) works on plain dicts
and imports neither pydantic, TinyDB nor dataclasses (hence `Added` is a `__slots__` class); the
commands for the faces return `TaskRecord` models.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tmux_agency.doors.workspace import Workspace, validate_name
from tmux_agency.models.errors import AgencyError, UsageError
from tmux_agency.services.tasks import storage
from tmux_agency.services.tasks.graph import (
    END_STATES,
    PRIORITIES,
    STARTED_STATES,
    approval_target,
    downstream,
    find_cycle,
    id_key,
    ready_ids,
    resolve_id,
    traffic_target,
)

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    from typing import Any

    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.models.schema import ApprovalItem, TaskRecord
    from tmux_agency.services.bus import Bus

SENDER = (None, "task-graph")  # who dispatches: the graph itself, not a person
MAX_TITLE = 300


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _step(task: dict[str, Any], state: str, event: str, by: str, when: str) -> None:
    """Change a stored task's state and keep the step in its history."""
    task["state"] = state
    task["updated_at"] = when
    task.setdefault("history", []).append({"time": when, "state": state, "event": event, "by": by})


# --- dispatch: ready tasks go to their agency ------------------------------------------------


def task_message(task: dict[str, Any]) -> str:
    """The TASK a coordinator receives (the prefix `TASK-T-4` makes the bus read it as a TASK)."""
    bits = [f"TASK-{task['id']}: {task['title']}"]
    if task.get("priority") in ("high", "critical"):
        bits.append(f"[{task['priority']} priority]")
    if task.get("after"):
        bits.append(f"({', '.join(task['after'])} done)")
    bits.append(f"— name {task['id']} in your STATUS, BLOCKED, QUESTION, COMPLETE or handoff.")
    return " ".join(bits)


def _claim_ready(docs: dict[str, dict[str, Any]], registered: set[str], when: str) -> list[dict[str, Any]]:
    """Mark every ready, unsent task of a registered agency as assigned (under the graph's lock,
    so two processes never send the same task); return copies of them to send."""
    tasks = list(docs.values())
    ready = ready_ids(tasks)
    claimed = []
    for task in sorted(tasks, key=lambda t: id_key(t["id"])):
        if task["id"] in ready and not task.get("assigned_at") and task.get("agency") in registered:
            task["assigned_at"] = when
            _step(task, "submitted", "assigned", f"{task['agency']}/coordinator", when)
            claimed.append(dict(task))
    return claimed


def _send(
    ws: Workspace, tmux: Tmux | None, bus: Bus | None, tasks: list[dict[str, Any]], notes: list[tuple[str, str]]
) -> list[str]:
    """Send claimed tasks and notes (agency, text) to coordinators. A task that cannot be sent
    goes back to unsent (a later sweep tries again). Returns the ids sent."""
    if not tasks and not notes:
        return []
    if bus is None:
        if tmux is None:
            from tmux_agency.doors.tmux import Tmux

            tmux = Tmux(None)
        from tmux_agency.services.bus import Bus

        bus = Bus(ws, tmux)
    sent = []
    failed = []
    for task in tasks:
        try:
            bus.send(task["agency"], "coordinator", task_message(task), sender=SENDER)
            sent.append(task["id"])
        except AgencyError:
            failed.append(task["id"])
    for agency, text in notes:
        try:
            bus.send(agency, "coordinator", text, sender=SENDER, type_="NOTE")
        except AgencyError:
            pass  # a note is a courtesy: the graph has the truth
    if failed:
        with storage.editing(ws) as docs:
            for task in docs.values():
                if task["id"] in failed and task["state"] == "submitted":
                    task["assigned_at"] = None
    return sent


def dispatch_ready(ws: Workspace, tmux: Tmux | None, bus: Bus | None = None) -> list[str]:
    """Send every ready task not yet sent to its (registered) agency's coordinator."""
    registered = storage.registered_agencies(ws)
    if not registered or not storage.exists(ws):
        return []
    with storage.editing(ws) as docs:
        claimed = _claim_ready(docs, registered, _now())
    return _send(ws, tmux, bus, claimed, [])


# --- commands ------------------------------------------------------------------------------------


class Added:
    """What `add_task` did: the task, why its agency was chosen, whether it was sent."""

    __slots__ = ("task", "reason", "sent")

    def __init__(self, task: TaskRecord, reason: str | None, sent: list[str]) -> None:
        self.task = task
        self.reason = reason
        self.sent = sent


def add_task(
    ws: Workspace,
    tmux: Tmux | None,
    title: str,
    agency: str | None = None,
    needs: list[str] | None = None,
    after: list[str] | None = None,
    priority: str = "medium",
    by: str = "human",
) -> Added:
    """A new task; with `needs`, the agency is chosen (selection.choose_agency). Ready at once
    (nothing to wait for) and with a registered agency, it is sent straight away."""
    from tmux_agency.models.schema import TaskRecord

    title = " ".join((title or "").split())
    if not title:
        raise UsageError("the task title is empty")
    if len(title) > MAX_TITLE:
        raise UsageError(f"the task title is {len(title)} characters long; the limit is {MAX_TITLE}")
    if priority not in PRIORITIES:
        raise UsageError(f"unknown priority {priority!r}: use {', '.join(PRIORITIES)}")
    if agency is not None and needs is not None:
        raise UsageError("give --agency or --needs, not both")
    reason = None
    if agency is not None:
        from tmux_agency.services.selection import known_agency

        validate_name(agency, "agency name")
        if not known_agency(ws, agency):
            raise UsageError(f"unknown agency {agency!r}: see 'tmux-agency capabilities'")
    elif needs is not None:
        from tmux_agency.services.selection import choose_agency

        choice = choose_agency(ws, needs)
        agency, reason, needs = choice.agency, choice.reason, choice.needs
    after = list(dict.fromkeys(after or []))
    now = _now()
    registered = storage.registered_agencies(ws)
    with storage.editing(ws) as docs:
        ids = [d["id"] for d in docs.values()]
        after = [resolve_id(ids, a) for a in after]
        number = max((id_key(i)[1] for i in ids if id_key(i)[0] == 0), default=0) + 1
        doc_id = max((int(k) for k in docs if k.isdigit()), default=0) + 1
        record = TaskRecord.model_validate(
            {  # validated: priority and the times come as text
                "id": f"T-{number}",
                "title": title,
                "agency": agency,
                "needs": list(needs or []),
                "after": after,
                "priority": priority,
                "created_at": now,
                "updated_at": now,
                "reason": reason,
            }
        )
        doc = record.model_dump(mode="json")
        _step(doc, "submitted", "added", by, doc["created_at"])
        docs[str(doc_id)] = doc
        claimed = _claim_ready(docs, registered, now)
    sent = _send(ws, tmux, None, claimed, [])
    return Added(storage.get_task(ws, record.id), reason, sent)


def add_dependency(
    ws: Workspace, tmux: Tmux | None, task_id: str, after: list[str], by: str = "human"
) -> tuple[TaskRecord, list[str]]:
    """Make a task wait for others too. A cycle is refused, naming it. Returns the task and
    warnings (a task already under way that now waits for unfinished work)."""
    if not after:
        raise UsageError("task dep needs --after ID")
    warnings = []
    now = _now()
    with storage.editing(ws) as stored:
        docs = list(stored.values())
        ids = [d["id"] for d in docs]
        tid = resolve_id(ids, task_id)
        wanted = [resolve_id(ids, a) for a in after]
        task = next(d for d in docs if d["id"] == tid)
        if task["state"] in END_STATES:
            raise UsageError(f"{tid} is already {task['state']}: a dependency would change nothing")
        new = [a for a in dict.fromkeys(wanted) if a not in task["after"]]
        cycle = find_cycle(docs, tid, new)
        if cycle:
            raise UsageError(f"refused: {' → '.join(cycle)} would be a cycle (→ reads 'waits for')")
        if new:
            task["after"] = [*task["after"], *new]
            _step(task, task["state"], "dep", by, now)
            states = {d["id"]: d["state"] for d in docs}
            open_deps = [a for a in new if states[a] != "completed"]
            if open_deps and (task["state"] in STARTED_STATES or task.get("assigned_at")):
                warnings.append(
                    f"{tid} is already {task['state'].replace('_', ' ')} but now also waits for {', '.join(open_deps)}"
                )
        claimed = _claim_ready(stored, storage.registered_agencies(ws), now)
    _send(ws, tmux, None, claimed, [])
    return storage.get_task(ws, tid), warnings


def finish(
    ws: Workspace, tmux: Tmux | None, task_id: str, state: str, by: str = "human"
) -> tuple[TaskRecord, list[str]]:
    """Set an end state by hand: completed (`task done`), failed or canceled. A completed task
    releases what waits for it; a failed or canceled one that its agency had is called off."""
    if state not in END_STATES:
        raise UsageError(f"unknown end state {state!r}")
    event = {"completed": "done", "failed": "failed", "canceled": "canceled"}[state]
    now = _now()
    notes = []
    with storage.editing(ws) as stored:
        docs = list(stored.values())
        tid = resolve_id([d["id"] for d in docs], task_id)
        task = next(d for d in docs if d["id"] == tid)
        if task["state"] in END_STATES:
            raise UsageError(f"{tid} is already {task['state']}")
        had_it = task.get("agency") and (task.get("assigned_at") or task["state"] in STARTED_STATES)
        _step(task, state, event, by, now)
        if state != "completed" and had_it:
            notes.append((task["agency"], f"NOTE: {tid} ({task['title']}) was {state} by {by}: stop work on it."))
        claimed = _claim_ready(stored, storage.registered_agencies(ws), now) if state == "completed" else []
    sent = _send(ws, tmux, None, claimed, notes)
    return storage.get_task(ws, tid), sent


# --- the life cycle, driven by traffic and by the approval queue --------------------------------


def _after_traffic(ws: Workspace, task: dict[str, Any], kind: str) -> str | None:
    state = task["state"]
    if kind == "STATUS":
        return "working" if state in ("submitted", "blocked") else None
    if kind in ("BLOCKED", "QUESTION"):
        return "blocked" if state in ("submitted", "working") else None
    if kind in ("COMPLETE", "handoff") and state in ("submitted", "working", "blocked"):
        return "in_review" if storage.review_applies(ws, task["agency"]) else "completed"
    return None


def on_traffic(ws: Workspace, tmux: Tmux | None, message: dict[str, Any], bus: Bus | None = None) -> str | None:
    """Move the task a message is about (see the module's table); return its id if it moved."""
    from tmux_agency.services.bus import label

    kind = message["type"]
    when = message["time"]
    by = label(message.get("sender_agency"), message.get("sender_agent"))
    claimed: list[dict[str, Any]] = []
    with storage.editing(ws) as docs:
        task = traffic_target(docs.values(), message)
        if task is None:
            return None
        payload = message.get("payload") or {}
        if kind == "handoff" and isinstance(payload.get("branch"), str) and payload["branch"] != "none":
            task["branch"] = payload["branch"]
        new = _after_traffic(ws, task, kind)
        if new is None:
            return None
        _step(task, new, kind, by, when)
        if new == "completed":
            claimed = _claim_ready(docs, storage.registered_agencies(ws), _now())
        moved = task["id"]
    _send(ws, tmux, bus, claimed, [])
    return moved


def _cascade(docs: list[dict[str, Any]], root: str, cause: str, when: str) -> list[dict[str, Any]]:
    """Put every task after `root` (transitively) that had started or been sent back to
    submitted and unsent; return them."""
    reset = []
    for task in downstream(docs, root):
        if task["state"] in STARTED_STATES or (task["state"] == "submitted" and task.get("assigned_at")):
            task["assigned_at"] = None
            _step(task, "submitted", "reset", f"{root} ({cause})", when)
            reset.append(task)
    return reset


def on_approval(ws: Workspace, tmux: Tmux | None, item: ApprovalItem) -> str | None:
    """Follow the approval queue: record the event for metrics and move the task it reviews —
    pending (a deploy) → in_review, approved → completed, rejected → working, with the cascade.
    Returns the id of the task moved, if any."""
    when = _now()
    status = item.status
    task_id = None
    claimed: list[dict[str, Any]] = []
    notes: list[tuple[str, str]] = []
    by = f"approval #{item.id}"
    with storage.editing(ws) as stored:
        docs = list(stored.values())
        task = approval_target(docs, item)
        if task is not None:
            task_id = task["id"]
            state = task["state"]
            task["approval"] = item.id
            task["branch"] = item.branch
            if status == "pending":  # kept even when already in review: the history shows each deploy
                _step(task, "in_review", "deploy", by, when)
            elif status == "approved":
                if state != "completed":
                    _step(task, "completed", "approved", f"{by} by {item.decided_by or 'human'}", when)
                claimed = _claim_ready(stored, storage.registered_agencies(ws), when) if tmux is not None else []
            elif status == "rejected":
                task["rejections"] = int(task.get("rejections") or 0) + 1
                _step(task, "working", "rejected", f"{by} by {item.decided_by or 'human'}", when)
                for other in _cascade(docs, task_id, f"approval #{item.id} rejected", when):
                    if other.get("agency"):
                        note = (
                            f"NOTE: {other['id']} ({other['title']}) is on hold: {task_id}, which it waits for, "
                            f"went back to work (approval #{item.id} rejected). Wait for a new TASK-{other['id']}."
                        )
                        notes.append((other["agency"], note))
    storage.log_review(ws, item, task_id, when)
    if tmux is not None:
        _send(ws, tmux, None, claimed, notes)
    return task_id
