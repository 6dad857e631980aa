"""Agent program profiles (tmux_agency/profiles/*.json) and what they say about a pane."""

from __future__ import annotations

import json
import re
import shlex
from functools import lru_cache
from pathlib import Path

from tmux_agency.models import ProgramProfile
from tmux_agency.processes import ProcessTable

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"


@lru_cache(maxsize=1)
def shipped_profiles() -> tuple[ProgramProfile, ...]:
    return tuple(
        ProgramProfile.model_validate(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(PROFILES_DIR.glob("*.json"))
    )


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
