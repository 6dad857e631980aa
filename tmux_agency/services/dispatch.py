"""The dispatcher's pass: send due check-ins, deliver queued messages, send ready tasks.

One pass, used by both faces: `tmux-agency run` repeats it, the control room runs it on a timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.errors import AgencyError
from tmux_agency.services.bus import Bus
from tmux_agency.services.schedule import RUN_INTERVAL_S, describe, dispatch_due


def _silent(_: str) -> None:
    pass


def dispatch_pass(
    ws: Workspace, tmux: Tmux, now: datetime | None = None, report: Callable[[str], None] = _silent
) -> None:
    """Send due check-ins, deliver queued messages and send ready tasks, once; `report` gets one
    line for each thing that went out."""
    from tmux_agency.services.tasks.lifecycle import dispatch_ready

    for result in dispatch_due(ws, tmux, now):
        report(describe(result))
    for message in Bus(ws, tmux).deliver():
        if message["state"] != "queued":
            report(f"delivered queued {message['id']} to {message['recipient_agency']}/{message['recipient_agent']}")
    for task_id in dispatch_ready(ws, tmux):
        report(f"sent task {task_id} to its agency")


def run_dispatcher(
    ws: Workspace,
    tmux: Tmux,
    once: bool = False,
    interval_s: float = RUN_INTERVAL_S,
    now: datetime | None = None,
    report: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> None:
    """`tmux-agency run`: a dispatch pass every `interval_s` seconds until interrupted (or once).
    A failing pass is reported and the loop goes on: the tmux server may come back."""
    while True:
        try:
            dispatch_pass(ws, tmux, now, report)
        except AgencyError as exc:
            if once:
                raise
            warn(f"this pass failed: {exc}")
        if once:
            return
        time.sleep(interval_s)
