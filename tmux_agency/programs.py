"""Agent program profiles (tmux_agency/profiles/*.json) and what they say about a pane.

How to drive one agent program (claude, codex, aider, the scripted agent, ...) is data, not
code, so a new program needs only a new file. Profiles are read on every message delivery, so
they are plain dataclasses checked by hand rather than pydantic models (which would add ~100 ms
of imports to every `send`).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from tmux_agency.processes import ProcessTable

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
STATES = ("busy", "waiting", "idle")


@dataclass(frozen=True)
class ProgramProfile:
    """Patterns are Python regular expressions: `command` picks the profile for an agent's
    program, `process` recognises the program among the processes under its pane, `ready`
    recognises its screen once it takes input, `states` tell busy / waiting / idle apart."""

    name: str
    command: str
    process: str
    description: str = ""
    ready: str | None = None
    # Extra wait after the program is seen (and `ready` matched) before the first text is typed.
    startup_delay_s: float = 0.0
    # Wait between pasting text and pressing Enter: some programs take an Enter that follows a
    # paste too closely as a newline, or swallow it.
    submit_delay_ms: int = 150
    # False for shells: text typed into them would run as commands.
    accepts_messages: bool = True
    # State → patterns on the pane's last lines, first match wins.
    states: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, source: str = "profile") -> ProgramProfile:
        """Check a profile's data field by field; raise ValueError naming the field."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: a profile is a JSON object")
        known = {f.name: f for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ValueError(f"{source}: unknown field {key!r}")
        for key in ("name", "command", "process"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ValueError(f"{source}: field {key!r} must be a non-empty string")
        checks = {
            "description": str, "ready": (str, type(None)), "startup_delay_s": (int, float),
            "submit_delay_ms": int, "accepts_messages": bool, "states": dict,
        }  # fmt: skip
        for key, kind in checks.items():
            if key in data and (not isinstance(data[key], kind) or isinstance(data[key], bool) and kind is int):
                raise ValueError(f"{source}: field {key!r} has the wrong type")
        for key in ("startup_delay_s", "submit_delay_ms"):
            if data.get(key, 0) < 0:
                raise ValueError(f"{source}: field {key!r} must not be negative")
        for state, patterns in data.get("states", {}).items():
            if state not in STATES or not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
                raise ValueError(f"{source}: states.{state} must be one of {STATES} with a list of patterns")
        patterns = [data["command"], data["process"], data.get("ready")] + [
            p for ps in data.get("states", {}).values() for p in ps
        ]
        for pattern in patterns:
            if pattern is None:
                continue
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{source}: pattern {pattern!r} is not a valid regular expression: {exc}") from None
        return cls(**data)


def load_profile(path: Path) -> ProgramProfile:
    return ProgramProfile.from_dict(json.loads(path.read_text(encoding="utf-8")), source=str(path))


@lru_cache(maxsize=1)
def shipped_profiles() -> tuple[ProgramProfile, ...]:
    return tuple(load_profile(path) for path in sorted(PROFILES_DIR.glob("*.json")))


@lru_cache(maxsize=64)
def profile_for(command: str) -> ProgramProfile:
    """The profile whose `command` pattern matches; else a generic one for that executable."""
    for profile in shipped_profiles():
        if re.search(profile.command, command):
            return profile
    try:
        executable = shlex.split(command)[0]
    except (ValueError, IndexError):
        executable = command.split()[0] if command.split() else command
    name = Path(executable).name
    return ProgramProfile(
        name=name or "program",
        description="No profile ships for this program: recognised by its executable's name.",
        command=re.escape(command),
        process=rf"(^|/){re.escape(name)}(\s|$)",
        startup_delay_s=2.0,
        submit_delay_ms=300,
    )


def program_running(profile: ProgramProfile, pane_pid: int, table: ProcessTable) -> bool:
    """True when a process under the pane's shell is the profile's program."""
    pattern = re.compile(profile.process)
    return any(pattern.search(proc.args) for proc in table.descendants(pane_pid))


def is_ready(profile: ProgramProfile, screen: str) -> bool:
    return profile.ready is None or re.search(profile.ready, screen, re.MULTILINE) is not None
