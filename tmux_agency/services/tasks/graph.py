"""The task graph's pure functions: what is ready, what waits for what, cycles, order, the
critical path, and which task a message or an approval is about. No I/O.

Each function takes tasks as stored dicts (the life cycle, on the agents' `send` path) or as
`TaskRecord` models (the faces), so this module imports neither pydantic nor TinyDB.
"""

from __future__ import annotations

import re

from tmux_agency.models.errors import UsageError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from tmux_agency.models.schema import ApprovalItem, TaskRecord

PRIORITIES = ("low", "medium", "high", "critical")
PRIORITY_WEIGHT = {"low": 1, "medium": 2, "high": 3, "critical": 4}
OPEN_STATES = ("submitted", "working", "blocked", "in_review")
END_STATES = ("completed", "failed", "canceled")
STARTED_STATES = ("working", "blocked", "in_review")
# The types that move a task; everything else (TASK, NOTE, results, alert, …) leaves it be.
MOVING_TYPES = ("STATUS", "BLOCKED", "QUESTION", "COMPLETE", "handoff")
# `T-4` standing alone, or inside `TASK-T-4`; not `ST-4`, not `T-40b`.
TASK_ID = re.compile(r"(?<![A-Za-z0-9])T-(\d+)(?![A-Za-z0-9])")


def _get(task: Any, key: str) -> Any:
    """A field of a task given as a stored dict or as a TaskRecord."""
    return task[key] if isinstance(task, dict) else getattr(task, key)


def id_key(task_id: str) -> tuple[int, int, str]:
    """Sort key: T-2 before T-10; ids of another shape after, alphabetically."""
    match = re.fullmatch(r"T-(\d+)", task_id)
    return (0, int(match.group(1)), "") if match else (1, 0, task_id)


def resolve_id(ids: Iterable[str], task_id: str) -> str:
    """The stored id `task_id` means ('t-4' means 'T-4'), or UsageError."""
    known = set(ids)
    for candidate in (task_id.strip(), task_id.strip().upper()):
        if candidate in known:
            return candidate
    raise UsageError(f"unknown task {task_id!r} (see 'tmux-agency task list')")


# --- readiness and dependencies ----------------------------------------------------------------


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


def describe(task: TaskRecord, tasks: list[TaskRecord]) -> dict[str, Any]:
    """A task as the faces show it: its record plus what the graph says about it."""
    return {
        **task.model_dump(mode="json"),
        "ready": task.id in ready_ids(tasks),
        "waiting_for": waiting_for(task, tasks),
        "dependents": dependents(task.id, tasks),
    }


# --- cycles, order, the critical path ----------------------------------------------------------


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


# --- which task a message or an approval is about ----------------------------------------------


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


def in_hand(docs: Iterable[dict[str, Any]], agency: str) -> list[dict[str, Any]]:
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
    mine = in_hand(docs, agency)
    return mine[0] if len(mine) == 1 else None


def approval_target(docs: list[dict[str, Any]], item: ApprovalItem) -> dict[str, Any] | None:
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
    mine_in_hand = in_hand(mine, item.agency)
    return mine_in_hand[0] if len(mine_in_hand) == 1 else None


def downstream(docs: Iterable[dict[str, Any]], root: str) -> list[dict[str, Any]]:
    """Every task after `root`, transitively (whatever waits for it, and so on), breadth-first."""
    users: dict[str, list[dict[str, Any]]] = {}
    for task in docs:
        for dep in task["after"]:
            users.setdefault(dep, []).append(task)
    found, queue, seen = [], [root], {root}
    while queue:
        for task in users.get(queue.pop(0), []):
            if task["id"] in seen:
                continue
            seen.add(task["id"])
            queue.append(task["id"])
            found.append(task)
    return found
