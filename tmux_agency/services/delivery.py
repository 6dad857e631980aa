"""Typing text into an agent's pane, safely.

The rules every peer tool gets wrong:
* **Text is text.** Control characters are shown, not sent (`visible_text`): a ^C, ^Z or ^\\ in
  a message would signal the agent's program, an ESC[201~ would end the bracketed paste early.
* It is pasted literally (never read as key names), as one bracketed paste (multi-line text is
  not submitted line by line), and Enter follows after the program's settle delay.
* Deliveries into one pane never interleave (a lock per pane across processes).
* Nothing is typed into a pane whose agent program is gone, stopped or a zombie, or that shows a
  dialog the person must answer (the text would answer it); the "still runs that program" check
  and the typing are one step on the tmux server, so an agent that dies in between gets nothing.
* **Never twice.** A message is claimed (a small file per pane, written under the pane's lock)
  before it is typed. A process killed while typing leaves its claim behind; whoever next takes
  the pane's lock settles it from the pane's own text — delivered if the text shows there, else
  uncertain — and never types it again.
* A delivery only counts once the pane shows that it arrived, with one retry of the Enter, the
  key programs most often swallow.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager

from tmux_agency.doors.processes import ProcessTable
from tmux_agency.doors.tmux import pane_died
from tmux_agency.services.programs import STATE_LINES, classify, program_running, takes_text

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from typing import Literal

    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.services.programs import ProgramProfile

    Outcome = Literal["delivered", "agent-down", "dialog", "held", "not-accepted", "uncertain", "skipped"]

VERIFY_TIMEOUT_S = 1.5
# How much of a pane's scrollback is searched for a message whose typing was interrupted.
SETTLE_HISTORY_LINES = 3000
PROBE_CHARS = 60


# --- text is text ------------------------------------------------------------------------------
# C0 controls and DEL become their Unicode "control pictures" (␃ for ^C, ␛ for ESC), C1 controls
# (U+0080-U+009F, 8-bit forms of ESC sequences) become ␛ and their 7-bit letter (U+009B, CSI, is
# "␛["). Newlines and tabs stay: they are text. A carriage return is a newline.
_VISIBLE = {code: chr(0x2400 + code) for code in range(0x20) if code not in (0x09, 0x0A)}
_VISIBLE[0x0D] = "\n"
_VISIBLE[0x7F] = "\u2421"
_VISIBLE.update({code: "\u241b" + chr(code - 0x40) for code in range(0x80, 0xA0)})


def visible_text(text: str) -> str:
    """`text` as it is typed into a pane: control characters shown as visible symbols, so that
    no byte of it can signal, suspend or stop the program, or end a bracketed paste; a lone
    surrogate (not encodable) becomes U+FFFD."""
    text = text.replace("\r\n", "\n")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text.translate(_VISIBLE)


def probe_of(text: str) -> str:
    """A piece of a message to look for on a pane: the start of its first line with text,
    whitespace collapsed (programs wrap and indent what they show)."""
    for line in text.splitlines():
        words = " ".join(line.split())
        if words:
            return words[:PROBE_CHARS]
    return ""


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


class Claim:
    """What is being typed into a pane: the message's id, where it is in the history, and a probe
    of its text. A claim its process left behind is handed to type_into_agent's `settle`, with
    whether the pane shows the probe."""

    __slots__ = ("message_id", "offset", "probe")

    def __init__(self, message_id: str, offset: int, probe: str) -> None:
        self.message_id, self.offset, self.probe = message_id, offset, probe


def _judge_pane(
    pane_id: str, state: tuple[int, bool, str] | None, profile: ProgramProfile, session: str | None
) -> tuple[bool, str]:
    """Judge a pane by what tmux.pane_process() said about it."""
    if state is None:
        return False, f"pane {pane_id} is gone"
    if state[1]:
        return False, f"the agent's program has exited (pane {pane_id} is dead)"
    if session is not None and state[2] != session:
        # A restarted tmux server reuses pane ids: this one now belongs to someone else.
        return False, f"pane {pane_id} now belongs to session {state[2]!r}, not {session!r}"
    if not program_running(profile, state[0], ProcessTable.snapshot()):
        return False, f"pane {pane_id} does not run {profile.name} now (it exited, or is stopped)"
    return True, ""


@contextmanager
def pane_lock(lock_dir: Path, socket_name: str | None, pane_id: str) -> Iterator[str]:
    """Serialise deliveries into one pane across processes, so concurrent texts never interleave.
    Yields the path of the pane's claim file (see Claim)."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    stem = os.path.join(lock_dir, f"{socket_name or 'default'}-{pane_id.lstrip('%')}")
    fd = os.open(stem + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a killed holder's lock is released by the kernel
        yield stem + ".claim"
    finally:
        os.close(fd)


def _write_claim(path: str, claim: Claim) -> None:
    # No fsync: a SIGKILL leaves the page cache intact, and a crash of the machine ends the tmux
    # server too, taking the pane the claim is about with it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps({"id": claim.message_id, "offset": claim.offset, "probe": claim.probe}).encode())
    finally:
        os.close(fd)


def _read_claim(path: str) -> Claim | None:
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read() or b"null")
        return Claim(str(data["id"]), int(data["offset"]), str(data["probe"]))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, KeyError):
        return Claim("", 0, "")  # torn by a killed writer: nothing to settle, only to clear


def _drop_claim(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def shows_text(tmux: Tmux, pane_id: str, probe: str) -> bool:
    """Whether the pane's screen or recent scrollback holds `probe` (whitespace collapsed)."""
    if not probe:
        return False
    try:
        screen = tmux.capture(pane_id, history=SETTLE_HISTORY_LINES)
    except Exception:  # noqa: BLE001 - a pane that cannot be read cannot confirm anything
        return False
    return probe in " ".join(screen.split())


def _wait_for_change(tmux: Tmux, pane_id: str, before: str, timeout: float) -> str | None:
    """The pane's first fingerprint that differs from `before`, or None after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        now = tmux.fingerprint(pane_id)
        if now != before:
            return now
        if time.monotonic() >= deadline:
            return None
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
    claim: Claim | None = None,
    settle: Callable[[Claim, bool], None] | None = None,
    on_uncertain: Callable[[str], None] | None = None,
) -> Delivery:
    """Type `text` into the agent's pane and submit it, if the agent can safely receive it.

    `still_wanted` is asked under the pane's lock (has another process delivered it meanwhile?);
    `on_typed` runs under the same lock once the delivery is verified, so the next deliverer
    sees it done. With `claim`, the message is claimed before it is typed; `settle` is handed
    any claim an interrupted deliverer left on this pane. `on_uncertain` runs under the lock
    when the text may have arrived but that cannot be told (it is never typed again).
    """
    if not profile.accepts_messages:
        return Delivery("not-accepted", f"{profile.name} panes do not take messages: text would run as a command")
    if not pane_id:
        return Delivery("agent-down", "the agent has no pane")
    with pane_lock(lock_dir, tmux.socket_name, pane_id) as claim_path:
        left = _read_claim(claim_path)
        if left is not None:
            if settle is not None and left.message_id:
                settle(left, shows_text(tmux, pane_id, left.probe))
            _drop_claim(claim_path)
        # tmux calls are paired where they can be: each costs a process start (~6 ms here).
        state, before = tmux.pane_process_and_fingerprint(pane_id)
        alive, why = _judge_pane(pane_id, state, profile, session)
        if not alive:
            return Delivery("agent-down", why)
        assert state is not None
        # The fingerprint is the screen plus one line of numbers: the screen is all but that line.
        held = _held(profile, before.rpartition("\n")[0])
        if held is not None:
            return held
        if still_wanted is not None and not still_wanted():
            return Delivery("skipped", "already delivered by another process")
        shown = visible_text(text)
        if claim is not None:
            _write_claim(claim_path, claim)
        outcome = _type(tmux, pane_id, state[0], shown, profile, before)
        if outcome.outcome == "uncertain" and on_uncertain is not None:
            on_uncertain(outcome.reason)
        elif outcome.ok and on_typed is not None:
            on_typed()
        _drop_claim(claim_path)  # settled: delivered, uncertain and recorded, or nothing typed
    return outcome


def _held(profile: ProgramProfile, screen: str) -> Delivery | None:
    """Why nothing may be typed into this screen now, or None: only a prompt positively
    recognised as taking input is typed into; a dialog, a busy program that does not read
    meanwhile, and any screen the profile does not know are held for later (or for the person)."""
    reading = classify(profile, screen)
    if takes_text(profile, reading):
        return None
    if reading.dialog is not None:
        return Delivery("dialog", f"{profile.name} shows a dialog ({reading.dialog.name}): {reading.dialog.action}")
    if reading.state == "exited":
        return Delivery("agent-down", f"{profile.name} has exited")
    if reading.state == "busy":
        return Delivery("held", f"{profile.name} is busy: the message goes in once it shows its prompt again")
    return Delivery(
        "held",
        f"{profile.name} shows a screen its profile does not recognise: nothing is typed until it shows its prompt "
        "(look at the pane; 'tmux-agency profiles classify' tells which rule reads it)",
    )


def _dialog_shown(profile: ProgramProfile, fingerprint: str) -> str | None:
    """The name of the dialog on this screen, if any: looked at again just before every Enter,
    because a program may raise one between the paste and the Enter (Codex asks to trust the
    folder a second or two after it first shows its composer), and that Enter would answer it."""
    reading = classify(profile, fingerprint.rpartition("\n")[0])
    return reading.dialog.name if reading.dialog is not None else None


def _pasted_under(dialog: str, pane_id: str) -> Delivery:
    # The text sits in the program's input behind the dialog, not submitted. Typing it again
    # later would put it there twice: it is left for the person, never retyped.
    return Delivery(
        "uncertain",
        f"pasted into pane {pane_id}, but the program raised a dialog ({dialog}) before it was submitted: "
        "not submitted, left in its input (look at the pane)",
    )


def _seen_in_input(tmux: Tmux, pane_id: str, probe: str, profile: ProgramProfile) -> bool:
    """Whether the program shows the pasted text (or its marker for a long paste) near the
    bottom of its screen: waited for up to VERIFY_TIMEOUT_S."""
    import re

    wanted = "".join(probe.split())[:40]
    deadline = time.monotonic() + VERIFY_TIMEOUT_S
    while True:
        bottom = "\n".join(tmux.capture(pane_id).splitlines()[-STATE_LINES:])
        if wanted and wanted in "".join(bottom.split()):
            return True
        if profile.pasted and re.search(profile.pasted, bottom, re.MULTILINE):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _type(tmux: Tmux, pane_id: str, pid: int, shown: str, profile: ProgramProfile, before: str) -> Delivery:
    """Paste and submit, each step only while the pane still runs `pid`; then verify."""
    bracketed = profile.paste != "keys"
    if profile.input_echo:
        # Enter only once the text is seen in the program's input: an Enter that reaches a
        # screen which did not take the paste could answer whatever that screen asks.
        if tmux.paste_if_alive(pane_id, pid, shown, bracketed) is None:
            return Delivery("agent-down", f"the agent's program in pane {pane_id} ended just before its text was typed")
        if not _seen_in_input(tmux, pane_id, probe_of(shown), profile):
            return Delivery(
                "held",
                f"the text was pasted into pane {pane_id} but never showed in its input: not submitted (look at the pane)",
            )
        time.sleep(profile.submit_delay_ms / 1000)
        before = tmux.fingerprint(pane_id)  # the Enter must change the screen from the pasted one
        if (dialog := _dialog_shown(profile, before)) is not None:
            return _pasted_under(dialog, pane_id)
        after_enter = tmux.press_if_alive(pane_id, pid, profile.submit_keys)
        if after_enter is None:
            return Delivery("uncertain", f"the agent's program ended while its text was typed into pane {pane_id}")
    elif profile.submit_delay_ms == 0:
        after_enter = tmux.paste_if_alive(pane_id, pid, shown, bracketed, submit=profile.submit_keys)
    else:
        after_enter = tmux.paste_if_alive(pane_id, pid, shown, bracketed)
        if after_enter is not None:
            time.sleep(profile.submit_delay_ms / 1000)
            if (dialog := _dialog_shown(profile, tmux.fingerprint(pane_id))) is not None:
                return _pasted_under(dialog, pane_id)
            after_enter = tmux.press_if_alive(pane_id, pid, profile.submit_keys)
            if after_enter is None:  # pasted, then the program ended: it may have read the text
                return Delivery("uncertain", f"the agent's program ended while its text was typed into pane {pane_id}")
    if after_enter is None:
        return Delivery("agent-down", f"the agent's program in pane {pane_id} ended just before its text was typed")
    changed = after_enter if after_enter != before else _wait_for_change(tmux, pane_id, before, VERIFY_TIMEOUT_S)
    if changed is None:
        # The one retry: an Enter the program swallowed - unless a dialog came up meanwhile.
        if (dialog := _dialog_shown(profile, tmux.fingerprint(pane_id))) is not None:
            return _pasted_under(dialog, pane_id)
        if tmux.press_if_alive(pane_id, pid, profile.submit_keys) is not None:
            changed = _wait_for_change(tmux, pane_id, before, VERIFY_TIMEOUT_S)
        if changed is None:
            # Typed, but never seen: typing it again could make it arrive twice.
            return Delivery(
                "uncertain", f"typed into pane {pane_id}, which showed no sign of it (even after a second Enter)"
            )
    if pane_died(changed):  # the change seen is the program's end, not the text's arrival
        return Delivery("uncertain", f"the agent's program ended right after its text was typed into pane {pane_id}")
    return Delivery("delivered")
