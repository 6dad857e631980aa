"""Agent program profiles (tmux_agency/profiles/*.json) and what they say about a pane.

How to drive one agent program (claude, codex, aider, the scripted agent, ...) is data, not
code, so a new program needs only a new file. Profiles are read on every message delivery, so
they are plain classes checked by hand: pydantic would add ~100 ms of imports to every `send`,
dataclasses ~20 ms.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from tmux_agency.processes import ProcessTable

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    from typing import Any

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
STATES = ("busy", "waiting", "idle")

# Each field and its default; name, command and process are required.
_DEFAULTS: dict[str, Any] = {
    "description": "",
    "ready": None,
    # Extra wait after the program is seen (and `ready` matched) before the first text is typed.
    "startup_delay_s": 0.0,
    # Wait between pasting text and pressing Enter: some programs take an Enter that follows a
    # paste too closely as a newline, or swallow it.
    "submit_delay_ms": 150,
    # False for shells: text typed into them would run as commands.
    "accepts_messages": True,
    # State → patterns on the pane's last lines, first match wins.
    "states": {},
}
FIELDS = ("name", "command", "process", *_DEFAULTS)


class ProgramProfile:
    """Patterns are Python regular expressions: `command` picks the profile for an agent's
    program, `process` recognises the program among the processes under its pane, `ready`
    recognises its screen once it takes input, `states` tell busy / waiting / idle apart."""

    __slots__ = FIELDS
    name: str
    command: str
    process: str
    description: str
    ready: str | None
    startup_delay_s: float
    submit_delay_ms: int
    accepts_messages: bool
    states: dict[str, list[str]]

    def __init__(self, name: str, command: str, process: str, **options: Any) -> None:
        unknown = set(options) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown profile fields: {', '.join(sorted(unknown))}")
        values = {**_DEFAULTS, "states": {}, **options, "name": name, "command": command, "process": process}
        for key in FIELDS:
            object.__setattr__(self, key, values[key])

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError("a ProgramProfile is read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProgramProfile) and all(getattr(self, k) == getattr(other, k) for k in FIELDS)

    def __hash__(self) -> int:
        return hash((self.name, self.command, self.process))

    def __repr__(self) -> str:
        return f"ProgramProfile(name={self.name!r}, command={self.command!r})"

    @classmethod
    def from_dict(cls, data: Any, source: str = "profile") -> ProgramProfile:
        """Check a profile's data field by field; raise ValueError naming the field."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: a profile is a JSON object")
        for key in data:
            if key not in FIELDS:
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
    # Only the matching profile is checked in full: `send` runs this once per call.
    for path in sorted(PROFILES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        try:
            matches = re.search(data["command"], command) is not None
        except (TypeError, KeyError, re.error):
            matches = True  # a broken profile: from_dict names what is wrong with it
        if matches:
            return ProgramProfile.from_dict(data, source=str(path))
    import shlex

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
