"""Typing text into an agent's pane, safely.

The rules every peer tool gets wrong: the text is pasted literally (never read as key names),
as one bracketed paste (multi-line text is not submitted line by line), Enter follows after the
program's settle delay, deliveries into one pane never interleave, nothing is typed into a pane
whose agent program is gone (a bare shell would run the text as a command) or that shows a
dialog the person must answer (the text would answer it), and a delivery
only counts once the pane shows that it arrived — with one retry of the Enter, the key that
programs most often swallow.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager

from tmux_agency.processes import ProcessTable
from tmux_agency.programs import find_dialog, program_running

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from typing import Literal

    from tmux_agency.programs import ProgramProfile
    from tmux_agency.tmux import Tmux

    Outcome = Literal["delivered", "agent-down", "dialog", "not-accepted", "unverified", "skipped"]

VERIFY_TIMEOUT_S = 1.5


class Delivery:
    """How a delivery ended: `outcome` is one of Outcome, `reason` says why it is not delivered."""

    __slots__ = ("outcome", "reason")

    def __init__(self, outcome: Outcome, reason: str = "") -> None:
        self.outcome = outcome
        self.reason = reason

    def __repr__(self) -> str:
        return f"Delivery({self.outcome!r}, {self.reason!r})"

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"


def _judge_pane(
    pane_id: str, state: tuple[int, bool, str] | None, profile: ProgramProfile, session: str | None
) -> tuple[bool, str]:
    """Judge a pane by what tmux.pane_process() said about it."""
    if state is None or state[1]:
        return False, f"pane {pane_id} is gone"
    if session is not None and state[2] != session:
        # A restarted tmux server reuses pane ids: this one now belongs to someone else.
        return False, f"pane {pane_id} now belongs to session {state[2]!r}, not {session!r}"
    if not program_running(profile, state[0], ProcessTable.snapshot()):
        return False, f"pane {pane_id} no longer runs {profile.name} (it fell back to a shell)"
    return True, ""


@contextmanager
def pane_lock(lock_dir: Path, socket_name: str | None, pane_id: str) -> Iterator[None]:
    """Serialise deliveries into one pane across processes, so concurrent texts never interleave."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    name = f"{socket_name or 'default'}-{pane_id.lstrip('%')}.lock"
    fd = os.open(lock_dir / name, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _wait_for_change(tmux: Tmux, pane_id: str, before: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if tmux.fingerprint(pane_id) != before:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


def type_into_agent(
    tmux: Tmux,
    pane_id: str | None,
    text: str,
    profile: ProgramProfile,
    lock_dir: Path,
    still_wanted: Callable[[], bool] | None = None,
    on_typed: Callable[[], None] | None = None,
    session: str | None = None,
) -> Delivery:
    """Paste `text` into the agent's pane and submit it, if the agent can safely receive it.

    `still_wanted` is asked under the pane's lock (has another process delivered it meanwhile?);
    `on_typed` runs under the same lock once the delivery is verified, so the next deliverer
    sees it done.
    """
    if not profile.accepts_messages:
        return Delivery("not-accepted", f"{profile.name} panes do not take messages: text would run as a command")
    if not pane_id:
        return Delivery("agent-down", "the agent has no pane")
    with pane_lock(lock_dir, tmux.socket_name, pane_id):
        # tmux calls are paired where they can be: each costs a process start (~6 ms here).
        state, before = tmux.pane_process_and_fingerprint(pane_id)
        alive, why = _judge_pane(pane_id, state, profile, session)
        if not alive:
            return Delivery("agent-down", why)
        # The fingerprint is the screen plus one line of numbers: the screen is all but that line.
        dialog = find_dialog(profile, before.rpartition("\n")[0]) if profile.dialogs else None
        if dialog is not None:
            return Delivery("dialog", f"{profile.name} shows a dialog ({dialog.name}): {dialog.action}")
        if still_wanted is not None and not still_wanted():
            return Delivery("skipped", "already delivered by another process")
        if profile.paste != "keys" and profile.submit_delay_ms == 0:
            after_enter = tmux.paste_submit_and_fingerprint(pane_id, text, profile.submit_keys)
        else:
            if profile.paste == "keys":
                tmux.send_literal(pane_id, text)
            else:
                tmux.paste(pane_id, text)
            time.sleep(profile.submit_delay_ms / 1000)
            after_enter = tmux.press_enter_and_fingerprint(pane_id, profile.submit_keys)
        if after_enter == before and not _wait_for_change(tmux, pane_id, before, VERIFY_TIMEOUT_S):
            tmux.press_enter(pane_id, profile.submit_keys)  # the one retry: an Enter the program swallowed
            if not _wait_for_change(tmux, pane_id, before, VERIFY_TIMEOUT_S):
                return Delivery("unverified", f"pane {pane_id} showed no sign of the text after a retry")
        if on_typed is not None:
            on_typed()
    return Delivery("delivered")
