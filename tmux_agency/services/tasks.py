"""The task graph: tasks across agencies, what each waits for, and a life cycle the traffic drives.

Tasks live in registry/task_graph.json (TinyDB's layout, one document per task, ids `T-1`,
`T-2`, … never reused). A task is *ready* when it is `submitted` and every task it waits for is
`completed`. A ready task that names an agency is sent to that agency's coordinator as a TASK
message (`TASK-T-4: title …`) and from then on the messages move it:

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

Agents call `send` constantly, so what the traffic path needs (`on_traffic`, the graph
functions) works on plain dicts and imports neither pydantic nor TinyDB; the typed functions for
the faces return `TaskRecord` models.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from tmux_agency.doors import registry as reg
from tmux_agency.models.errors import AgencyError, UsageError, WorldError
from tmux_agency.doors.registry import Registry
from tmux_agency.doors.workspace import Workspace, starters_dir, validate_name

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from tmux_agency.services.bus import Bus
    from tmux_agency.models.schema import ApprovalItem, TaskRecord
    from tmux_agency.doors.tmux import Tmux

TABLE = "_default"
PRIORITIES = ("low", "medium", "high", "critical")
PRIORITY_WEIGHT = {"low": 1, "medium": 2, "high": 3, "critical": 4}
OPEN_STATES = ("submitted", "working", "blocked", "in_review")
END_STATES = ("completed", "failed", "canceled")
STARTED_STATES = ("working", "blocked", "in_review")
# The types that move a task; everything else (TASK, NOTE, results, alert, …) leaves it be.
MOVING_TYPES = ("STATUS", "BLOCKED", "QUESTION", "COMPLETE", "handoff")
# `T-4` standing alone, or inside `TASK-T-4`; not `ST-4`, not `T-40b`.
TASK_ID = re.compile(r"(?<![A-Za-z0-9])T-(\d+)(?![A-Za-z0-9])")
SENDER = (None, "task-graph")  # who dispatches: the graph itself, not a person
MAX_TITLE = 300

MARKS = {
    "completed": "✓",
    "working": "◐",
    "in_review": "◎",
    "blocked": "■",
    "submitted": "○",
    "failed": "✗",
    "canceled": "⊘",
}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _get(task: Any, key: str) -> Any:
    """A field of a task given as a stored dict or as a TaskRecord."""
    return task[key] if isinstance(task, dict) else getattr(task, key)


def id_key(task_id: str) -> tuple[int, int, str]:
    """Sort key: T-2 before T-10; ids of another shape after, alphabetically."""
    match = re.fullmatch(r"T-(\d+)", task_id)
    return (0, int(match.group(1)), "") if match else (1, 0, task_id)


# --- the graph (pure functions over tasks, as dicts or TaskRecords) ---------------------------


def ready_ids(tasks: Iterable[Any]) -> set[str]:
    """Tasks that can start now: submitted, and everything they wait for completed."""
    tasks = list(tasks)
    states = {_get(t, "id"): _get(t, "state") for t in tasks}
    return {
        _get(t, "id")
        for t in tasks
        if _get(t, "state") == "submitted" and all(states.get(d) == "completed" for d in _get(t, "after"))
    }


def waiting_for(task: Any, tasks: Iterable[Any]) -> list[str]:
    """What `task` still waits for: its dependencies that are not completed."""
    states = {_get(t, "id"): _get(t, "state") for t in tasks}
    return [d for d in _get(task, "after") if states.get(d) != "completed"]


def dependents(task_id: str, tasks: Iterable[Any]) -> list[str]:
    """The tasks that wait for `task_id` directly."""
    return sorted((_get(t, "id") for t in tasks if task_id in _get(t, "after")), key=id_key)


def find_cycle(tasks: Iterable[Any], task_id: str, new_after: Iterable[str]) -> list[str] | None:
    """The cycle that making `task_id` wait for `new_after` would close, as a walk along
    'waits for' edges from `task_id` back to itself (['T-1', 'T-3', 'T-1']); None if none."""
    after = {_get(t, "id"): list(_get(t, "after")) for t in tasks}
    for target in new_after:
        if target == task_id:
            return [task_id, task_id]
        # Breadth-first from `target` along 'waits for' edges: the shortest cycle is named.
        queue: list[tuple[str, list[str]]] = [(target, [target])]
        seen = {target}
        while queue:
            node, path = queue.pop(0)
            for nxt in after.get(node, []):
                if nxt == task_id:
                    return [task_id, *path, task_id]
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, [*path, nxt]))
    return None


def topological_order(tasks: Iterable[Any]) -> list[str]:
    """Every task after everything it waits for (ties by id). Tasks on a cycle — the commands
    refuse one, but a hand-edited file may hold one — are left out."""
    tasks = list(tasks)
    ids = {_get(t, "id") for t in tasks}
    after = {_get(t, "id"): [d for d in _get(t, "after") if d in ids] for t in tasks}
    waiting = {tid: len(set(deps)) for tid, deps in after.items()}
    users: dict[str, list[str]] = {tid: [] for tid in ids}
    for tid, deps in after.items():
        for dep in set(deps):
            users[dep].append(tid)
    import heapq

    heap = [(id_key(tid), tid) for tid, n in waiting.items() if n == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, tid = heapq.heappop(heap)
        order.append(tid)
        for user in users[tid]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(heap, (id_key(user), user))
    return order


def critical_path(tasks: Iterable[Any]) -> list[str]:
    """The longest chain of unfinished tasks, first to do first.

    Unfinished: submitted, working, blocked or in review (failed and canceled tasks are out of
    the plan). Length counts tasks — there are no estimates to weigh them by; between chains of
    equal length the one with the greater sum of priority weights (low 1, medium 2, high 3,
    critical 4) wins, then the one met first in id order. Empty when nothing is unfinished.
    """
    live = [t for t in tasks if _get(t, "state") in OPEN_STATES]
    by_id = {_get(t, "id"): t for t in live}
    best: dict[str, tuple[int, int, list[str]]] = {}
    for tid in topological_order(live):
        task = by_id[tid]
        own = PRIORITY_WEIGHT.get(_get(task, "priority"), 2)
        length, weight, path = 0, 0, list[str]()
        for dep in sorted(set(_get(task, "after")), key=id_key):
            if dep in best and best[dep][:2] > (length, weight):
                length, weight, path = best[dep]
        best[tid] = (length + 1, weight + own, [*path, tid])
    top: tuple[int, int, list[str]] = (0, 0, [])
    for tid in sorted(best, key=id_key):
        if best[tid][:2] > top[:2]:
            top = best[tid]
    return top[2]


def message_mentions(message: dict[str, Any]) -> list[str]:
    """Task ids a message names: its payload's `task` field first, then the text, in order."""
    found = []
    payload = message.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("task"), str):
        found += [f"T-{n}" for n in TASK_ID.findall(payload["task"])]
    for n in TASK_ID.findall(message.get("body") or ""):
        if f"T-{n}" not in found:
            found.append(f"T-{n}")
    return found


# --- storage -----------------------------------------------------------------------------------


def _registry(ws: Workspace) -> Registry:
    return Registry(ws.registry_dir)


def _docs(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    docs = data.setdefault(TABLE, {})
    if not isinstance(docs, dict):
        raise WorldError(f"registry file {reg.TASKS}: table {TABLE!r} is not an object")
    return docs


def _step(task: dict[str, Any], state: str, event: str, by: str, when: str) -> None:
    """Change a stored task's state and keep the step in its history."""
    task["state"] = state
    task["updated_at"] = when
    task.setdefault("history", []).append({"time": when, "state": state, "event": event, "by": by})


def load_tasks(ws: Workspace) -> list[TaskRecord]:
    """Every task, in id order."""
    from pydantic import ValidationError

    from tmux_agency.models.schema import TaskRecord
    from tmux_agency.doors.workspace import first_validation_error

    registry = _registry(ws)
    try:
        tasks = [TaskRecord.model_validate(doc) for doc in registry.documents(reg.TASKS)]
    except ValidationError as exc:
        raise WorldError(f"registry file {registry.path(reg.TASKS)} holds an invalid task: {first_validation_error(exc)}") from None
    return sorted(tasks, key=lambda t: id_key(t.id))


def _resolve(ids: Iterable[str], task_id: str) -> str:
    """The stored id `task_id` means ('t-4' means 'T-4'), or UsageError."""
    known = set(ids)
    for candidate in (task_id.strip(), task_id.strip().upper()):
        if candidate in known:
            return candidate
    raise UsageError(f"unknown task {task_id!r} (see 'tmux-agency task list')")


def get_task(ws: Workspace, task_id: str) -> TaskRecord:
    tasks = load_tasks(ws)
    wanted = _resolve((t.id for t in tasks), task_id)
    return next(t for t in tasks if t.id == wanted)


def list_tasks(ws: Workspace, ready: bool = False, agency: str | None = None) -> list[TaskRecord]:
    tasks = load_tasks(ws)
    if agency is not None:
        validate_name(agency, "agency name")
    shown = [t for t in tasks if agency is None or t.agency == agency]
    if ready:
        now_ready = ready_ids(tasks)
        shown = [t for t in shown if t.id in now_ready]
    return shown


def describe(task: TaskRecord, tasks: list[TaskRecord]) -> dict[str, Any]:
    """A task as the faces show it: its record plus what the graph says about it."""
    return {
        **task.model_dump(mode="json"),
        "ready": task.id in ready_ids(tasks),
        "waiting_for": waiting_for(task, tasks),
        "dependents": dependents(task.id, tasks),
    }


def parse_ids(text: str | None) -> list[str]:
    """'T-1, T-2' → ['T-1', 'T-2'] (no duplicates)."""
    if text is None:
        return []
    ids = []
    for part in text.split(","):
        part = part.strip()
        if part and part not in ids:
            ids.append(part)
    if not ids:
        raise UsageError("--after names no task")
    return ids


# --- agencies, as the graph needs them -------------------------------------------------------


def registered_agencies(ws: Workspace) -> set[str]:
    from tmux_agency.services.records import raw_records

    return {r["name"] for r in raw_records(ws)}


def review_applies(ws: Workspace, agency: str) -> bool:
    """Whether the agency's finished work goes through the sandbox and the approval queue: its
    spec (as registered, else its agency.json or starter) has a sandbox test command."""
    from tmux_agency.services.records import raw_records

    for record in raw_records(ws):
        if record.get("name") == agency:
            return bool(((record.get("spec") or {}).get("sandbox") or {}).get("test_command"))
    for path in (ws.agencies_dir / agency / "agency.json", starters_dir() / agency / "agency.json"):
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        sandbox = spec.get("sandbox") if isinstance(spec, dict) else None
        return bool(isinstance(sandbox, dict) and sandbox.get("test_command"))
    return False


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


def _claim_ready(data: dict[str, Any], registered: set[str], when: str) -> list[dict[str, Any]]:
    """Mark every ready, unsent task of a registered agency as assigned (under the graph's lock,
    so two processes never send the same task); return copies of them to send."""
    docs = list(_docs(data).values())
    ready = ready_ids(docs)
    claimed = []
    for task in sorted(docs, key=lambda t: id_key(t["id"])):
        if task["id"] in ready and not task.get("assigned_at") and task.get("agency") in registered:
            task["assigned_at"] = when
            _step(task, "submitted", "assigned", f"{task['agency']}/coordinator", when)
            claimed.append(dict(task))
    return claimed


def _send(ws: Workspace, tmux: Tmux | None, bus: Bus | None, tasks: list[dict[str, Any]], notes: list[tuple[str, str]]) -> list[str]:
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
        with _registry(ws).edit(reg.TASKS) as data:
            for task in _docs(data).values():
                if task["id"] in failed and task["state"] == "submitted":
                    task["assigned_at"] = None
    return sent


def dispatch_ready(ws: Workspace, tmux: Tmux | None, bus: Bus | None = None) -> list[str]:
    """Send every ready task not yet sent to its (registered) agency's coordinator."""
    registered = registered_agencies(ws)
    if not registered or not _registry(ws).exists(reg.TASKS):
        return []
    with _registry(ws).edit(reg.TASKS) as data:
        claimed = _claim_ready(data, registered, _now())
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
    registered = registered_agencies(ws)
    with _registry(ws).edit(reg.TASKS) as data:
        docs = _docs(data)
        ids = [d["id"] for d in docs.values()]
        after = [_resolve(ids, a) for a in after]
        number = max((id_key(i)[1] for i in ids if id_key(i)[0] == 0), default=0) + 1
        doc_id = max((int(k) for k in docs if k.isdigit()), default=0) + 1
        record = TaskRecord.model_validate({  # validated: priority and the times come as text
            "id": f"T-{number}", "title": title, "agency": agency, "needs": list(needs or []), "after": after,
            "priority": priority, "created_at": now, "updated_at": now, "reason": reason,
        })  # fmt: skip
        doc = record.model_dump(mode="json")
        _step(doc, "submitted", "added", by, doc["created_at"])
        docs[str(doc_id)] = doc
        claimed = _claim_ready(data, registered, now)
    sent = _send(ws, tmux, None, claimed, [])
    return Added(get_task(ws, record.id), reason, sent)


def add_dependency(ws: Workspace, tmux: Tmux | None, task_id: str, after: list[str], by: str = "human") -> tuple[TaskRecord, list[str]]:
    """Make a task wait for others too. A cycle is refused, naming it. Returns the task and
    warnings (a task already under way that now waits for unfinished work)."""
    if not after:
        raise UsageError("task dep needs --after ID")
    warnings = []
    now = _now()
    with _registry(ws).edit(reg.TASKS) as data:
        docs = list(_docs(data).values())
        ids = [d["id"] for d in docs]
        tid = _resolve(ids, task_id)
        wanted = [_resolve(ids, a) for a in after]
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
                warnings.append(f"{tid} is already {task['state'].replace('_', ' ')} but now also waits for {', '.join(open_deps)}")
        claimed = _claim_ready(data, registered_agencies(ws), now)
    _send(ws, tmux, None, claimed, [])
    return get_task(ws, tid), warnings


def finish(ws: Workspace, tmux: Tmux | None, task_id: str, state: str, by: str = "human") -> tuple[TaskRecord, list[str]]:
    """Set an end state by hand: completed (`task done`), failed or canceled. A completed task
    releases what waits for it; a failed or canceled one that its agency had is called off."""
    if state not in END_STATES:
        raise UsageError(f"unknown end state {state!r}")
    event = {"completed": "done", "failed": "failed", "canceled": "canceled"}[state]
    now = _now()
    notes = []
    with _registry(ws).edit(reg.TASKS) as data:
        docs = list(_docs(data).values())
        tid = _resolve([d["id"] for d in docs], task_id)
        task = next(d for d in docs if d["id"] == tid)
        if task["state"] in END_STATES:
            raise UsageError(f"{tid} is already {task['state']}")
        had_it = task.get("agency") and (task.get("assigned_at") or task["state"] in STARTED_STATES)
        _step(task, state, event, by, now)
        if state != "completed" and had_it:
            notes.append((task["agency"], f"NOTE: {tid} ({task['title']}) was {state} by {by}: stop work on it."))
        claimed = _claim_ready(data, registered_agencies(ws), now) if state == "completed" else []
    sent = _send(ws, tmux, None, claimed, notes)
    return get_task(ws, tid), sent


# --- the life cycle, driven by traffic and by the approval queue --------------------------------


def _in_hand(docs: Iterable[dict[str, Any]], agency: str) -> list[dict[str, Any]]:
    """An agency's tasks in hand: sent to it (or started) and not finished."""
    return [
        d
        for d in docs
        if d.get("agency") == agency
        and (d["state"] in STARTED_STATES or (d["state"] == "submitted" and d.get("assigned_at")))
    ]


def traffic_target(docs: Iterable[dict[str, Any]], message: dict[str, Any]) -> dict[str, Any] | None:
    """The task a message moves: the first task it names that belongs to the sending agency,
    else that agency's only task in hand; None if neither."""
    agency = message.get("sender_agency")
    if not agency or message.get("type") not in MOVING_TYPES:
        return None
    docs = list(docs)
    by_id = {d["id"]: d for d in docs}
    for tid in message_mentions(message):
        task = by_id.get(tid)
        if task is not None and task.get("agency") == agency:
            return task
    mine = _in_hand(docs, agency)
    return mine[0] if len(mine) == 1 else None


def _after_traffic(ws: Workspace, task: dict[str, Any], kind: str) -> str | None:
    state = task["state"]
    if kind == "STATUS":
        return "working" if state in ("submitted", "blocked") else None
    if kind in ("BLOCKED", "QUESTION"):
        return "blocked" if state in ("submitted", "working") else None
    if kind in ("COMPLETE", "handoff") and state in ("submitted", "working", "blocked"):
        return "in_review" if review_applies(ws, task["agency"]) else "completed"
    return None


def on_traffic(ws: Workspace, tmux: Tmux | None, message: dict[str, Any], bus: Bus | None = None) -> str | None:
    """Move the task a message is about (see the module's table); return its id if it moved."""
    from tmux_agency.services.bus import label

    kind = message["type"]
    when = message["time"]
    by = label(message.get("sender_agency"), message.get("sender_agent"))
    claimed: list[dict[str, Any]] = []
    with _registry(ws).edit(reg.TASKS) as data:
        task = traffic_target(_docs(data).values(), message)
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
            claimed = _claim_ready(data, registered_agencies(ws), _now())
        moved = task["id"]
    _send(ws, tmux, bus, claimed, [])
    return moved


def _task_for_approval(docs: list[dict[str, Any]], item: ApprovalItem) -> dict[str, Any] | None:
    """The task an approval item reviews: the one it was linked to, one named in its branch or
    title, one whose branch it is, or the agency's only task in hand."""
    mine = [d for d in docs if d.get("agency") == item.agency and d["state"] not in ("failed", "canceled")]
    for task in mine:
        if task.get("approval") == item.id:
            return task
    named = [f"T-{n}" for n in TASK_ID.findall(f"{item.branch} {item.title}")]
    for task in mine:
        if task["id"] in named:
            return task
    for task in mine:
        if task.get("branch") == item.branch and task["state"] != "completed":
            return task
    in_hand = _in_hand(mine, item.agency)
    return in_hand[0] if len(in_hand) == 1 else None


def _cascade(docs: list[dict[str, Any]], root: str, cause: str, when: str) -> list[dict[str, Any]]:
    """Put every task after `root` (transitively) that had started or been sent back to
    submitted and unsent; return them."""
    users: dict[str, list[dict[str, Any]]] = {}
    for task in docs:
        for dep in task["after"]:
            users.setdefault(dep, []).append(task)
    reset, queue, seen = [], [root], {root}
    while queue:
        for task in users.get(queue.pop(0), []):
            if task["id"] in seen:
                continue
            seen.add(task["id"])
            queue.append(task["id"])
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
    with _registry(ws).edit(reg.TASKS) as data:
        docs = list(_docs(data).values())
        task = _task_for_approval(docs, item)
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
                claimed = _claim_ready(data, registered_agencies(ws), when) if tmux is not None else []
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
    _log_review(ws, item, task_id, when)
    if tmux is not None:
        _send(ws, tmux, None, claimed, notes)
    return task_id


def _log_review(ws: Workspace, item: ApprovalItem, task_id: str | None, when: str) -> None:
    """One line of registry/reviews.jsonl per enqueue or decision: the approval queue keeps only
    each item's latest state, metrics need every step (first-review outcome, review time)."""
    record = {
        "time": when,
        "approval": item.id,
        "agency": item.agency,
        "branch": item.branch,
        "revision": item.revision,
        "status": item.status,
        "task": task_id,
        "tests": item.tests.model_dump(),
        "coverage": item.coverage,
        "decided_by": item.decided_by,
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
    }
    _registry(ws).append_line(reg.REVIEWS, record)
