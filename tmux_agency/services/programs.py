"""Agent program profiles (shipped in tmux_agency/profiles/, extended by a workspace's profiles/)
and what they say about a pane: ready, busy, waiting, idle, or showing a dialog.

How to drive one agent program (claude, codex, aider, the scripted agent, ...) is data, not
code, so a new program needs only a new file. Profiles are read on every message delivery, so
they are plain classes checked by hand: pydantic would add ~100 ms of imports to every `send`,
dataclasses ~20 ms.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

from tmux_agency.doors.processes import ProcessTable
from tmux_agency.models.errors import UsageError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    from typing import Any

PROFILES_DIR = Path(__file__).resolve().parents[1] / "profiles"
USER_PROFILES = "profiles"  # a workspace's own profiles: <workspace>/profiles/*.json
STATES = ("busy", "waiting", "idle")
PASTE_MODES = ("bracketed", "keys")
# How many non-empty lines at the bottom of a pane the state and dialog rules look at. A
# pattern that must match the last line only ends in \Z.
STATE_LINES = 10
DIALOG_LINES = 25
# A tmux key name; compiled on first use, not at import (which every `send` pays).
_KEY = r"^((C|M|S)-)*([A-Za-z0-9]|Enter|Tab|BTab|Escape|Space|BSpace|Up|Down|Left|Right|Home|End)$"

# Each field and its default; name, command and process are required.
_DEFAULTS: dict[str, Any] = {
    "description": "",
    # The command line that starts the program: what to write as an agent's `program`.
    "start": None,
    "ready": None,
    # Extra wait after the program is seen (and `ready` matched) before the first text is typed.
    "startup_delay_s": 0.0,
    # How text goes in: "bracketed" — one tmux paste, bracketed if the program asked for it
    # (multi-line text stays one message); "keys" — typed as literal keys, for programs that
    # mishandle pastes (a newline in the text may then submit early).
    "paste": "bracketed",
    # The tmux keys that submit what was pasted.
    "submit_keys": ("Enter",),
    # Wait between pasting text and pressing the submit keys: some programs take an Enter that
    # follows a paste too closely as a newline, or swallow it.
    "submit_delay_ms": 150,
    # False for shells: text typed into them would run as commands.
    "accepts_messages": True,
    # True when the program reads what is typed while it works (it queues it, or reads its
    # input in order): then a message goes in while it is busy, not only at its prompt.
    "accepts_while_busy": False,
    # True when a paste shows in the program's input before it is submitted: delivery then
    # presses Enter only once the text (or the `pasted` marker) is seen there.
    "input_echo": False,
    # What the program shows instead of a long paste ("[Pasted text #1 +40 lines]").
    "pasted": None,
    # State → patterns on the pane's bottom lines; waiting, then busy, then idle is tried.
    "states": {},
    # Screens the person must answer before anything is typed (trust this folder, permission to
    # run a command, an update question): while one shows nothing is typed into the pane.
    "dialogs": (),
    # Environment variables the program must not see. An agent's pane is a terminal with a
    # program driven through it; variables inherited from where tmux-agency runs can switch a
    # program to its headless mode (Gemini CLI does with CI=true or GITHUB_ACTIONS=true).
    "unset_env": (),
}
FIELDS = ("name", "command", "process", *_DEFAULTS)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DIALOG_FIELDS = ("name", "match", "action", "lines")


class ProfileError(UsageError, ValueError):
    """A profile file that is not valid: names the file and the field."""


class Dialog:
    """A screen that must be answered by the person first: every pattern of `match` appears in
    the pane's last `lines` non-empty lines. `action` tells the person what to do."""

    __slots__ = DIALOG_FIELDS
    name: str
    match: tuple[str, ...]
    action: str
    lines: int

    def __init__(self, name: str, match: list[str] | tuple[str, ...], action: str, lines: int = DIALOG_LINES) -> None:
        for key, value in (("name", name), ("match", tuple(match)), ("action", action), ("lines", lines)):
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError("a Dialog is read-only")

    def _key(self) -> tuple[Any, ...]:
        return (self.name, self.match, self.action, self.lines)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dialog) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Dialog(name={self.name!r})"

    def shows_on(self, screen: str) -> bool:
        text = _bottom(screen, self.lines)
        return all(re.search(pattern, text, re.MULTILINE) for pattern in self.match)


class ProgramProfile:
    """Patterns are Python regular expressions: `command` picks the profile for an agent's
    program, `process` recognises the program among the processes under its pane, `ready`
    recognises its screen once it takes input, `states` tell busy / waiting / idle apart and
    `dialogs` recognise screens the person must answer first."""

    __slots__ = FIELDS
    name: str
    command: str
    process: str
    description: str
    start: str | None
    ready: str | None
    startup_delay_s: float
    paste: str
    submit_keys: tuple[str, ...]
    submit_delay_ms: int
    accepts_messages: bool
    accepts_while_busy: bool
    input_echo: bool
    pasted: str | None
    states: dict[str, list[str]]
    dialogs: tuple[Dialog, ...]
    unset_env: tuple[str, ...]

    def __init__(self, name: str, command: str, process: str, **options: Any) -> None:
        unknown = set(options) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown profile fields: {', '.join(sorted(unknown))}")
        values = {**_DEFAULTS, "states": {}, **options, "name": name, "command": command, "process": process}
        values["submit_keys"] = tuple(values["submit_keys"])
        values["unset_env"] = tuple(values["unset_env"])
        values["dialogs"] = tuple(d if isinstance(d, Dialog) else Dialog(**d) for d in values["dialogs"])
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
        """Check a profile's data field by field; raise ProfileError (a ValueError) naming the
        file and the field."""

        def fail(message: str) -> ProfileError:
            return ProfileError(f"{source}: {message}")

        if not isinstance(data, dict):
            raise fail("a profile is a JSON object")
        for key in data:
            if key not in FIELDS:
                raise fail(f"unknown field {key!r} (fields: {', '.join(FIELDS)})")
        for key in ("name", "command", "process"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise fail(f"field {key!r} must be a non-empty string")
        checks: dict[str, type | tuple[type, ...]] = {
            "description": str,
            "start": (str, type(None)),
            "ready": (str, type(None)),
            "startup_delay_s": (int, float),
            "paste": str,
            "submit_keys": list,
            "submit_delay_ms": int,
            "accepts_messages": bool,
            "accepts_while_busy": bool,
            "input_echo": bool,
            "pasted": (str, type(None)),
            "states": dict,
            "dialogs": list,
            "unset_env": list,
        }
        for key, kind in checks.items():
            if key in data and (not isinstance(data[key], kind) or isinstance(data[key], bool) and kind is not bool):
                raise fail(f"field {key!r} has the wrong type")
        for key in ("startup_delay_s", "submit_delay_ms"):
            if data.get(key, 0) < 0:
                raise fail(f"field {key!r} must not be negative")
        if data.get("start") == "":
            raise fail("field 'start' must not be empty (leave it out instead)")
        if data.get("paste", "bracketed") not in PASTE_MODES:
            raise fail(f"field 'paste' must be one of {', '.join(PASTE_MODES)}")
        keys = data.get("submit_keys", ["Enter"])
        if not keys or not all(isinstance(k, str) and re.match(_KEY, k) for k in keys):
            raise fail('field \'submit_keys\' must list tmux key names, e.g. ["Enter"] or ["Escape", "Enter"]')
        if not all(isinstance(n, str) and _ENV_NAME.fullmatch(n) for n in data.get("unset_env", [])):
            raise fail("field 'unset_env' must list environment variable names, e.g. [\"CI\"]")
        for state, patterns in data.get("states", {}).items():
            if state not in STATES or not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
                raise fail(f"states.{state} must be one of {STATES} with a list of patterns")
        patterns = [
            ("command", data["command"]),
            ("process", data["process"]),
            ("ready", data.get("ready")),
            ("pasted", data.get("pasted")),
        ]
        patterns += [(f"states.{s}", p) for s, ps in data.get("states", {}).items() for p in ps]
        seen: set[str] = set()
        for index, dialog in enumerate(data.get("dialogs", [])):
            where = f"dialogs[{index}]"
            if not isinstance(dialog, dict):
                raise fail(f"{where} must be an object with {', '.join(DIALOG_FIELDS)}")
            for key in dialog:
                if key not in DIALOG_FIELDS:
                    raise fail(f"{where}: unknown field {key!r} (fields: {', '.join(DIALOG_FIELDS)})")
            for key in ("name", "action"):
                if not isinstance(dialog.get(key), str) or not dialog[key].strip():
                    raise fail(f"{where}: field {key!r} must be a non-empty string")
            match = dialog.get("match")
            if not isinstance(match, list) or not match or not all(isinstance(p, str) and p for p in match):
                raise fail(f"{where}: field 'match' must be a non-empty list of patterns")
            lines = dialog.get("lines", DIALOG_LINES)
            if not isinstance(lines, int) or isinstance(lines, bool) or lines < 1:
                raise fail(f"{where}: field 'lines' must be a positive whole number")
            if dialog["name"] in seen:
                raise fail(f"{where}: a second dialog named {dialog['name']!r}")
            seen.add(dialog["name"])
            patterns += [(f"{where}.match", p) for p in match]
        for field, pattern in patterns:
            if pattern is None:
                continue
            try:
                re.compile(pattern)
            except re.error as exc:
                raise fail(f"{field}: pattern {pattern!r} is not a valid regular expression: {exc}") from None
        return cls(**data)


def load_profile(path: Path) -> ProgramProfile:
    return ProgramProfile.from_dict(_read(path), source=str(path))


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot be read ({exc.strerror})") from None


# --- finding the profile of a program ----------------------------------------------------------
# A workspace's profiles/*.json come first and replace a shipped profile of the same name. The
# folder's listing (names, sizes, times) keys the cache, so an edited profile is seen at once
# by long-running processes (the control room, `run`), and a `send` pays one scandir.


def _signature(folder: str | None) -> tuple[tuple[str, int, int], ...]:
    if folder is None:
        return ()
    try:
        with os.scandir(folder) as entries:
            found = []
            for entry in entries:
                if entry.name.endswith(".json") and not entry.name.startswith("."):
                    stat = entry.stat()
                    found.append((entry.name, stat.st_mtime_ns, stat.st_size))
    except (FileNotFoundError, NotADirectoryError):
        return ()
    return tuple(sorted(found))


@lru_cache(maxsize=1)
def _shipped_data() -> tuple[tuple[Path, Any], ...]:
    return tuple((path, json.loads(path.read_text(encoding="utf-8"))) for path in sorted(PROFILES_DIR.glob("*.json")))


@lru_cache(maxsize=8)
def _candidates(folder: str | None, signature: tuple[tuple[str, int, int], ...]) -> tuple[tuple[Path, Any], ...]:
    """(path, data) of every profile in matching order: the workspace's, then the shipped ones
    it does not replace."""
    own = [(Path(folder) / name, _read(Path(folder) / name)) for name, _, _ in signature] if folder else []
    replaced = {data.get("name") if isinstance(data, dict) else None for _, data in own}
    replaced |= {path.stem for path, _ in own}
    return (*own, *((p, d) for p, d in _shipped_data() if d.get("name") not in replaced))


def user_profiles_dir(home: str | os.PathLike[str] | None) -> str | None:
    return os.path.join(home, USER_PROFILES) if home is not None else None


_resolved: dict[tuple[str, str | None, tuple[tuple[str, int, int], ...]], ProgramProfile] = {}


def profile_for(command: str, home: str | os.PathLike[str] | None = None) -> ProgramProfile:
    """The profile whose `command` pattern matches (the workspace at `home` may add or replace
    profiles in its profiles/ folder); else a generic one for that executable."""
    folder = user_profiles_dir(home)
    signature = _signature(folder)
    key = (command, folder, signature)
    found = _resolved.get(key)
    if found is None:
        found = _resolved[key] = _match(command, folder, signature)
    return found


def _match(command: str, folder: str | None, signature: tuple[tuple[str, int, int], ...]) -> ProgramProfile:
    # Only the matching profile is checked in full: `send` runs this once per call.
    for path, data in _candidates(folder, signature):
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


def all_profiles(home: str | os.PathLike[str] | None = None) -> tuple[ProgramProfile, ...]:
    """Every profile in force for the workspace at `home`, each checked in full."""
    folder = user_profiles_dir(home)
    return tuple(
        ProgramProfile.from_dict(data, source=str(path)) for path, data in _candidates(folder, _signature(folder))
    )


# --- what a pane shows -------------------------------------------------------------------------


def program_running(profile: ProgramProfile, pane_pid: int, table: ProcessTable) -> bool:
    """True when the pane's own process, or one below it, is the profile's program and can read
    its input: a stopped program or a zombie is not running."""
    pattern = re.compile(profile.process)
    return any(proc.alive and pattern.search(proc.args) for proc in table.tree(pane_pid))


def _bottom(screen: str, count: int) -> str:
    """The last `count` non-empty lines of a screen, right-trimmed (a pattern's \\Z is the end
    of the last line with text)."""
    lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
    return "\n".join(lines[-count:])


def find_dialog(profile: ProgramProfile, screen: str) -> Dialog | None:
    """The dialog the pane shows, if any: then nothing may be typed into it."""
    for dialog in profile.dialogs:
        if dialog.shows_on(screen):
            return dialog
    return None


# tmux's own line in a pane whose program has exited (remain-on-exit), as a capture shows it.
_PANE_DEAD = re.compile(r"^Pane is dead \((status|signal) ")


class Reading:
    """What a profile reads from a screen: `state` is "dialog:NAME", "ready", "busy",
    "waiting", "exited" or "unknown"; `rule` says which rule decided it."""

    __slots__ = ("state", "rule", "dialog")

    def __init__(self, state: str, rule: str, dialog: Dialog | None = None) -> None:
        self.state, self.rule, self.dialog = state, rule, dialog

    def __repr__(self) -> str:
        return f"Reading({self.state!r}, {self.rule!r})"


def classify(profile: ProgramProfile, screen: str) -> Reading:
    """Read a screen by the profile's rules, in this order: the program has exited (tmux's
    "Pane is dead" line), a dialog the person must answer, waiting, busy (AI CLIs keep their
    prompt on screen while they work, so busy wins over ready), ready (its `ready` pattern) —
    else unknown: a screen no rule recognises, where nothing may be typed."""
    bottom = _bottom(screen, 1)
    if _PANE_DEAD.search(bottom):
        return Reading("exited", "tmux: the pane is dead (its program exited)")
    for index, dialog in enumerate(profile.dialogs):
        if dialog.shows_on(screen):
            return Reading(
                f"dialog:{dialog.name}", f"dialogs[{index}] {dialog.name!r}: {' + '.join(dialog.match)}", dialog
            )
    text = _bottom(screen, STATE_LINES)
    for state in ("waiting", "busy"):
        for pattern in profile.states.get(state, ()):
            if re.search(pattern, text, re.MULTILINE):
                return Reading(state, f"states.{state}: {pattern}")
    ready = [("ready", profile.ready)] if profile.ready is not None else []
    ready += [("states.idle", pattern) for pattern in profile.states.get("idle", ())]
    if not ready:
        return Reading("ready", "no 'ready' pattern: a program without one is taken as ready whenever it runs")
    for field, pattern in ready:
        if re.search(pattern, text, re.MULTILINE):
            return Reading("ready", f"{field}: {pattern}")
    return Reading("unknown", f"no rule of profile {profile.name!r} matches the last {STATE_LINES} lines")


def is_ready(profile: ProgramProfile, screen: str) -> bool:
    """Whether text may be typed now: the program shows its prompt, waits for an answer, or is
    busy and reads what is typed meanwhile. A dialog or an unknown screen is never typed into."""
    return takes_text(profile, classify(profile, screen))


def takes_text(profile: ProgramProfile, reading: Reading) -> bool:
    return reading.state in ("ready", "waiting") or (reading.state == "busy" and profile.accepts_while_busy)


def screen_state(profile: ProgramProfile, screen: str) -> tuple[str, Dialog | None]:
    """(state, dialog) for the control room: "dialog" when the pane shows one (it waits for the
    person), else waiting / busy / idle, "down" (exited), or "needs-you" (a screen no rule
    knows: nothing is typed into it until the person has looked)."""
    reading = classify(profile, screen)
    if reading.dialog is not None:
        return "dialog", reading.dialog
    if reading.state == "ready":
        return ("idle" if profile.ready is not None or profile.states.get("idle") else "running"), None
    return {"exited": "down", "unknown": "needs-you"}.get(reading.state, reading.state), None
