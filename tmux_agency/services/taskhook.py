"""The task graph's ear on the bus: decides, cheaply, whether a message can move a task.

Told by the bus of every batch of messages it keeps (a traffic listener; services/__init__.py
connects it); without a graph file this costs one stat. Agents send constantly, so this module
imports nothing heavy; the task graph's life cycle (tasks/lifecycle.py, still free of pydantic
and TinyDB on this path) is loaded only for a message that may move a task: one that can
(STATUS, BLOCKED, QUESTION, COMPLETE, handoff), from an agency, naming a task id or sent by an
agency with work in hand.
"""

from __future__ import annotations

import re

from tmux_agency.doors import registry as reg

TYPE_CHECKING = False  # not typing's (see registry.py)
if TYPE_CHECKING:
    from typing import Any

    from tmux_agency.services.bus import Bus

MOVING_TYPES = frozenset(("STATUS", "BLOCKED", "QUESTION", "COMPLETE", "handoff"))  # = tasks.graph.MOVING_TYPES
_MENTION = re.compile(r"(?<![A-Za-z0-9])T-\d+(?![A-Za-z0-9])")  # = tasks.graph.TASK_ID


def follow(bus: Bus, messages: list[dict[str, Any]]) -> None:
    if not bus.registry.exists(reg.TASKS):
        return
    for message in messages:
        if message["type"] not in MOVING_TYPES or not message.get("sender_agency"):
            continue
        from tmux_agency.models.errors import AgencyError

        try:
            _follow_one(bus, message)
        except AgencyError as exc:  # the message is kept and goes out; the graph says why it lags
            import sys

            print(f"tmux-agency: the task graph did not follow {message['id']}: {exc}", file=sys.stderr)


def _follow_one(bus: Bus, message: dict[str, Any]) -> None:
    payload = message.get("payload")
    named = _MENTION.search(message.get("body") or "") or (
        isinstance(payload, dict) and isinstance(payload.get("task"), str) and _MENTION.search(payload["task"])
    )
    if not named and not _has_work_in_hand(bus, message["sender_agency"]):
        return
    from tmux_agency.services.tasks.lifecycle import on_traffic

    on_traffic(bus.ws, bus.tmux, message, bus)


def _has_work_in_hand(bus: Bus, agency: str) -> bool:
    for task in bus.registry.documents(reg.TASKS):
        if task.get("agency") == agency and (
            task.get("state") in ("working", "blocked", "in_review")
            or (task.get("state") == "submitted" and task.get("assigned_at"))
        ):
            return True
    return False
