"""The scripted agent: a stand-in for an AI CLI that reads its pane and answers through the CLI.

It is the default program of every agent that names none, so every flow runs here without an
AI CLI installed. Like a real agent it takes a briefing, acknowledges a TASK with a STATUS, does
the work (here: waits a moment) and reports COMPLETE — all with `tmux-agency send`, exactly the
commands its briefing teaches. A coordinator passes each TASK on to its specialists in turn.

Input arrives as pastes (tmux `paste-buffer -p`) followed by Enter, or typed by a person. The
terminal is put in non-canonical mode so lines of any length arrive whole (canonical mode cuts
a line at 4 KiB) and bracketed paste is switched on so a multi-line paste is one message. The
terminal's signal keys are off, as in any full-screen AI CLI: a ^C, ^Z or ^\\ byte is input, not
a signal, so no text can stop or suspend the agent. A person's ^C (or ^D on an empty line)
typed outside a paste still ends it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
PROMPT = "ready › "

_TASK_ID = re.compile(r"\b(TASK-[A-Za-z0-9_.-]+|[A-Z]+-\d+)\b")
_INTER = re.compile(r"^\[(?P<kind>[\w-]+) from (?P<sender>[\w-]+)\] (?P<body>.*)$", re.DOTALL)


def read_messages(stream: IO[bytes]) -> Iterator[str]:
    """Yield each submitted message: text up to an Enter that is not inside a bracketed paste."""
    fd = stream.fileno()
    pending = ""
    current: list[str] = []
    in_paste = False
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            if "".join(current).strip():
                yield "".join(current)
            return
        pending += chunk.decode("utf-8", errors="replace")
        while pending:
            if pending.startswith(PASTE_START):
                in_paste, pending = True, pending[len(PASTE_START) :]
            elif pending.startswith(PASTE_END):
                in_paste, pending = False, pending[len(PASTE_END) :]
            elif pending[0] == "\x1b" and len(pending) < len(PASTE_START) and PASTE_START.startswith(pending):
                break  # a marker split across reads: wait for the rest
            elif pending[0] in "\r\n" and not in_paste:
                pending = pending[1:]
                text = "".join(current)
                current = []
                if text.strip():
                    yield text
            elif pending[0] == "\x03" and not in_paste:  # a person's ^C
                raise KeyboardInterrupt
            elif pending[0] == "\x04" and not in_paste:  # ^D: the end, on an empty line
                if not current:
                    return
                pending = pending[1:]
            elif pending[0] == "\x7f" and not in_paste:  # backspace typed by a person
                pending = pending[1:]
                if current:
                    current.pop()
            else:
                char, pending = pending[0], pending[1:]
                current.append("\n" if char == "\r" else char)


@contextmanager
def terminal_mode(stream: IO[bytes]) -> Iterator[None]:
    """No echo, no line editing, bracketed paste on — and everything restored on the way out."""
    if not os.isatty(stream.fileno()):
        yield
        return
    import termios

    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
    mode[0] &= ~termios.IXON  # ^S would freeze the pane's output until a ^Q
    mode[6][termios.VMIN] = 1
    mode[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, mode)
    sys.stdout.write("\x1b[?2004h")
    sys.stdout.flush()
    try:
        yield
    finally:
        sys.stdout.write("\x1b[?2004l")
        sys.stdout.flush()
        termios.tcsetattr(fd, termios.TCSANOW, saved)


class ScriptedAgent:
    def __init__(self, agency: str | None, name: str | None, pace_s: float, transcript: str | None = None) -> None:
        self.agency = agency
        self.name = name or "agent"
        self.pace_s = pace_s
        self.next_specialist = 0
        self.received = 0  # numbered on screen, so every arrival visibly changes the pane
        # A folder where every message received is kept verbatim, one JSON line each: how tests
        # (and curious people) see exactly what reached the agent.
        self.transcript = transcript
        # The demo's story (cast.py), when TMUX_AGENCY_CAST=demo: roles instead of the generic
        # delegate-and-report behaviour.
        self.cast = None
        if os.environ.get("TMUX_AGENCY_CAST") == "demo":
            from tmux_agency.demo import cast

            self.cast = cast

    def record(self, text: str) -> None:
        if not self.transcript:
            return
        import json

        os.makedirs(self.transcript, exist_ok=True)
        path = os.path.join(self.transcript, f"{self.agency or 'none'}-{self.name}.jsonl")
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")

    # --- what the agent knows of its agency -------------------------------------------------

    def _team(self) -> tuple[str | None, list[str]]:
        """(coordinator, specialists) of this agent's agency, as the registry has them now."""
        if not self.agency:
            return None, []
        try:
            from tmux_agency.doors.workspace import find_workspace
            from tmux_agency.services.records import get_record

            record = get_record(find_workspace(), self.agency)
        except Exception:  # noqa: BLE001 - a stand-in agent must keep running whatever happens
            return None, []
        coordinator = next((a.name for a in record.agents if a.is_coordinator), None)
        return coordinator, [a.name for a in record.agents if not a.is_coordinator]

    def is_coordinator(self) -> bool:
        return self._team()[0] == self.name

    # --- talking ----------------------------------------------------------------------------

    def say(self, line: str) -> None:
        # Control characters from a message are shown, never obeyed by the terminal.
        line = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in line)
        sys.stdout.write(f"\r{line}\n")
        sys.stdout.flush()

    def send(self, to: str, text: str) -> None:
        """Answer through the CLI, as the briefing tells a real agent to."""
        self.say(f"» {to}: {text}")
        if not self.agency:
            return
        result = subprocess.run(
            [sys.executable, "-m", "tmux_agency", "send", to, text],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            self.say(f"! send failed: {result.stderr.strip() or result.returncode}")

    # --- behaviour --------------------------------------------------------------------------

    def handle(self, text: str) -> None:
        self.record(text)
        self.received += 1
        first = text.strip().splitlines()[0] if text.strip() else ""
        lines = len(text.strip().splitlines())
        # What the pane shows of the message: its first line, its size when it is long.
        shown = f"({len(text):,} characters) {first[:120]}" if len(text) > 400 else first[:200]
        inter = _INTER.match(text.strip())
        if self.cast and not first.startswith("#"):
            self.say(f"«{self.received} {shown}")
            self.cast.react(self, text, _payload_of(inter))  # the rest of the story only shows
            return
        if first.startswith("#") and lines > 1:
            self.say(f"«{self.received} briefing received ({lines} lines): {first[:120]}")
        elif inter:
            self.say(f"«{self.received} {inter['kind']} from {inter['sender']}: {inter['body'][:160]}")
            if inter["kind"] == "handoff" and self.is_coordinator():
                task = _TASK_ID.search(inter["body"])
                self.delegate(f"{task.group(0) if task else 'TASK-HANDOFF'}: check the handoff from {inter['sender']}")
        elif re.match(r"^\s*TASK", first, re.IGNORECASE):
            self.say(f"«{self.received} {shown}")
            if self.is_coordinator():
                self.delegate(text.strip())
            else:
                self.work(text.strip())
        else:
            self.say(f"«{self.received} {shown}" + (f" (+{lines - 1} lines)" if lines > 1 else ""))

    def delegate(self, task_text: str) -> None:
        specialists = self._team()[1]
        if not specialists:
            self.work(task_text)
            return
        target = specialists[self.next_specialist % len(specialists)]
        self.next_specialist += 1
        self.send(target, task_text)

    def work(self, task_text: str) -> None:
        match = _TASK_ID.search(task_text)
        task = match.group(0) if match else "the task"
        self.send("coordinator", f"STATUS {self.name}: working on {task}")
        self.say(f"working on {task} …")
        time.sleep(self.pace_s)
        self.send("coordinator", f"COMPLETE {self.name}: {task} done")

    def run(self, stream: IO[bytes]) -> int:
        role = "coordinator" if self.is_coordinator() else "specialist"
        where = f"{self.name} @ {self.agency}" if self.agency else self.name
        self.say(f"tmux-agency scripted agent · {where} ({role})")
        self.say("a stand-in for an AI CLI: it answers TASKs through 'tmux-agency send'")
        with terminal_mode(stream):
            sys.stdout.write(PROMPT)
            sys.stdout.flush()
            for text in read_messages(stream):
                try:
                    self.handle(text)
                except Exception as exc:  # noqa: BLE001 - report and keep serving
                    self.say(f"! {type(exc).__name__}: {exc}")
                sys.stdout.write(PROMPT)
                sys.stdout.flush()
        return 0


def _payload_of(inter: re.Match[str] | None) -> dict | None:
    """The JSON payload of an inter-agency message as typed into the pane, with its sender."""
    if inter is None:
        return None
    import json

    try:
        payload = json.loads(inter["body"])
    except ValueError:
        return None
    return {**payload, "_from": inter["sender"]} if isinstance(payload, dict) else None


def run_agent(agency: str | None, name: str | None, pace_s: float | None = None) -> int:
    if pace_s is None:
        pace_s = float(os.environ.get("TMUX_AGENCY_AGENT_PACE", "2"))
    agent = ScriptedAgent(agency, name, pace_s, os.environ.get("TMUX_AGENCY_AGENT_TRANSCRIPT"))
    try:
        return agent.run(sys.stdin.buffer)
    except KeyboardInterrupt:
        return 130
