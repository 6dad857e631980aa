"""The task graph's storage: registry/task_graph.json and the review log, through the registry
door, and what the graph reads of the agencies. The only module of the task graph with I/O.

Tasks are kept in TinyDB's layout, one document per task (ids `T-1`, `T-2`, … never reused).
The life cycle changes them as plain dicts under the file's lock (`editing`); the faces read them
as `TaskRecord` models (`load_tasks`, `get_task`, `list_tasks`).
"""

from __future__ import annotations

import json
from contextlib import contextmanager

from tmux_agency.doors import registry as reg
from tmux_agency.doors.registry import Registry
from tmux_agency.doors.workspace import Workspace, starters_dir, validate_name
from tmux_agency.models.errors import WorldError
from tmux_agency.services.tasks.graph import id_key, ready_ids, resolve_id

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from tmux_agency.models.schema import ApprovalItem, TaskRecord

TABLE = "_default"


def _registry(ws: Workspace) -> Registry:
    return Registry(ws.registry_dir)


def exists(ws: Workspace) -> bool:
    """Whether the task graph has ever been written."""
    return _registry(ws).exists(reg.TASKS)


def documents(ws: Workspace) -> list[dict[str, Any]]:
    """Every task as stored (plain dicts, unvalidated), in the file's order: for readers that
    only count or look (selection, approvals, metrics)."""
    return _registry(ws).documents(reg.TASKS)


@contextmanager
def editing(ws: Workspace) -> Iterator[dict[str, dict[str, Any]]]:
    """The graph's documents (doc id → task, as stored), locked: changed in place, written
    atomically when the block ends (nothing written if it raised or changed nothing)."""
    with _registry(ws).edit(reg.TASKS) as data:
        docs = data.setdefault(TABLE, {})
        if not isinstance(docs, dict):
            raise WorldError(f"registry file {reg.TASKS}: table {TABLE!r} is not an object")
        yield docs


def load_tasks(ws: Workspace) -> list[TaskRecord]:
    """Every task, in id order."""
    from pydantic import ValidationError

    from tmux_agency.doors.workspace import first_validation_error
    from tmux_agency.models.schema import TaskRecord

    registry = _registry(ws)
    try:
        tasks = [TaskRecord.model_validate(doc) for doc in registry.documents(reg.TASKS)]
    except ValidationError as exc:
        raise WorldError(
            f"registry file {registry.path(reg.TASKS)} holds an invalid task: {first_validation_error(exc)}"
        ) from None
    return sorted(tasks, key=lambda t: id_key(t.id))


def get_task(ws: Workspace, task_id: str) -> TaskRecord:
    tasks = load_tasks(ws)
    wanted = resolve_id((t.id for t in tasks), task_id)
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


def log_review(ws: Workspace, item: ApprovalItem, task_id: str | None, when: str) -> None:
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


# --- the agencies, as the graph reads them -----------------------------------------------------


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
