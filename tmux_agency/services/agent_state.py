"""Whether an agent's program runs: one computation for `list`, `status` and the control room,
so that they always agree. (What a running program is doing - busy, idle, a dialog - is read
from its screen on top of this: programs.screen_state, by the control room.)"""

from __future__ import annotations

from tmux_agency.doors.processes import ProcessTable
from tmux_agency.doors.tmux import PaneInfo
from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.errors import AgencyError
from tmux_agency.services.programs import ProgramProfile, profile_for, program_running

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    Running = Literal["running", "down", "unknown"]


def program_state(
    ws: Workspace,
    session: str | None,
    pane_id: str | None,
    program: str,
    panes: dict[str, PaneInfo],
    table: ProcessTable,
) -> tuple[Running, ProgramProfile | None, str | None]:
    """("running" | "down" | "unknown", the agent's profile, why it is unknown).

    Down: its pane is gone, dead, belongs to another session (a pane id reused after a server
    restart) or no longer runs the program. Unknown: its profile does not load."""
    try:
        profile = profile_for(program, ws.root)
    except AgencyError as exc:  # a broken profiles/*.json: say so, show the rest
        return "unknown", None, str(exc)
    pane = panes.get(pane_id or "")
    if pane is None or pane.session != session or pane.dead or not program_running(profile, pane.pane_pid, table):
        return "down", profile, None
    return "running", profile, None


def agents_down(ws: Workspace, records: list, panes: list[PaneInfo]) -> dict[str, list[str]]:
    """For each agency record (AgencyRecord), the names of its agents whose program is down."""
    by_id = {p.pane_id: p for p in panes}
    table = ProcessTable.snapshot()
    return {
        record.name: [
            agent.name
            for agent in record.agents
            if program_state(ws, record.session, agent.pane_id, agent.program, by_id, table)[0] == "down"
        ]
        for record in records
    }
