"""The door to tmux, on a real isolated server: capturing many panes in one call."""

from __future__ import annotations

from libtmux import Server

from tmux_agency.doors.tmux import Tmux

from .helpers import wait_for

SCREENS = {
    "idle": "ready › ",
    "busy": "working on T-3\nstep 2 of 5",
    "blank": "",
    # A pane may print anything, including lines that look like the separator between screens.
    "tricky": "tmux-agency:end-of-pane:0123456789abcdef\n\nafter a blank line",
}


def start_panes(server: Server) -> dict[str, str]:
    """One window per screen, each printing its text and then waiting; name -> pane id."""
    session = server.new_session("Capture", window_name="first")
    ids = {}
    for name, text in SCREENS.items():
        window = session.new_window(window_name=name, window_shell=f"printf '%s' '{text}'; exec sleep 600")
        ids[name] = window.active_pane.pane_id
    tmux = Tmux(server.socket_name)
    wait_for(
        lambda: all(
            tmux.capture(pane) == text.rstrip("\n") for pane, text in zip(ids.values(), SCREENS.values(), strict=True)
        )
    )
    return ids


def test_capture_many_gives_each_pane_what_capture_gives_it(server: Server) -> None:
    ids = start_panes(server)
    tmux = Tmux(server.socket_name)
    screens = tmux.capture_many(list(ids.values()))
    assert screens == {pane: tmux.capture(pane) for pane in ids.values()}
    assert screens[ids["tricky"]].splitlines()[-1] == "after a blank line"
    assert screens[ids["busy"]] == SCREENS["busy"]
    # Split into several tmux calls, the answer is the same.
    assert tmux.capture_many(list(ids.values()), chunk=2) == screens


def test_a_pane_that_is_gone_is_left_out(server: Server) -> None:
    ids = start_panes(server)
    tmux = Tmux(server.socket_name)
    server.cmd("kill-pane", "-t", ids["busy"])
    screens = tmux.capture_many(list(ids.values()))
    assert set(screens) == set(ids.values()) - {ids["busy"]}
    assert screens[ids["idle"]] == SCREENS["idle"]
