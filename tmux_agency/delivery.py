"""Typing text into an agent's pane, safely.

The rules every peer tool gets wrong: the text is pasted literally (never read as key names),
as one bracketed paste (multi-line text is not submitted line by line), Enter follows after the
program's settle delay, deliveries into one pane never interleave, and nothing is typed into a
pane whose agent program is gone — a bare shell would run the text as a command.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Literal

from tmux_agency.models import ProgramProfile
from tmux_agency.processes import ProcessTable
from tmux_agency.programs import program_running
from tmux_agency.tmux import PaneInfo, Tmux

Outcome = Literal["delivered", "agent-down", "not-accepted", "skipped"]


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"


def pane_by_id(tmux: Tmux, pane_id: str) -> PaneInfo | None:
    return next((p for p in tmux.list_panes() if p.pane_id == pane_id), None)


def agent_alive(tmux: Tmux, pane_id: str | None, profile: ProgramProfile) -> tuple[bool, str]:
    """Whether the pane exists and still runs the agent's program; if not, why."""
    if not pane_id:
        return False, "the agent has no pane"
    pane = pane_by_id(tmux, pane_id)
    if pane is None or pane.dead:
        return False, f"pane {pane_id} is gone"
    if not program_running(profile, pane.pane_pid, ProcessTable.snapshot()):
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


def type_into_agent(
    tmux: Tmux,
    pane_id: str | None,
    text: str,
    profile: ProgramProfile,
    lock_dir: Path,
    still_wanted: Callable[[], bool] | None = None,
    on_typed: Callable[[], None] | None = None,
) -> Delivery:
    """Paste `text` into the agent's pane and submit it, if the agent can safely receive it.

    `still_wanted` is asked under the pane's lock (has another process delivered it meanwhile?);
    `on_typed` runs under the same lock once the text is in, so the next deliverer sees it done.
    """
    if not profile.accepts_messages:
        return Delivery("not-accepted", f"{profile.name} panes do not take messages: text would run as a command")
    alive, why = agent_alive(tmux, pane_id, profile)
    if not alive:
        return Delivery("agent-down", why)
    assert pane_id is not None
    with pane_lock(lock_dir, tmux.socket_name, pane_id):
        # Checked again under the lock: the program may have exited while we waited for it.
        alive, why = agent_alive(tmux, pane_id, profile)
        if not alive:
            return Delivery("agent-down", why)
        if still_wanted is not None and not still_wanted():
            return Delivery("skipped", "already delivered by another process")
        tmux.paste(pane_id, text)
        time.sleep(profile.submit_delay_ms / 1000)
        tmux.press_enter(pane_id)
        if on_typed is not None:
            on_typed()
    return Delivery("delivered")
