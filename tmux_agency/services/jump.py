"""Going to an agent's pane: one function for every face (the control room's Enter)."""

from __future__ import annotations

from collections.abc import Callable

from tmux_agency.doors.tmux import Tmux


def jump(tmux: Tmux, pane_id: str, attach: Callable[[str], None] | None = None) -> None:
    """Make the pane its session's current window and pane, then show it: inside a tmux client
    of the same server, switch that client to it; anywhere else, attach this terminal to the
    pane's session until the user detaches. `attach` does that attaching, given the session's
    name (the control room hands the terminal over around it); by default, `attach` below."""
    session = tmux.focus_pane(pane_id)
    if tmux.is_current_server():
        tmux.switch_client(pane_id)
    else:
        (attach or tmux.attach)(session)


def attach(tmux: Tmux, session: str) -> None:
    """Attach this terminal to `session` until the user detaches."""
    tmux.attach(session)
