"""Agent program profiles are data: every shipped one validates and tells its program apart."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tmux_agency.models.errors import UsageError
from tmux_agency.services import delivery
from tmux_agency.services.dashboard import detect_state
from tmux_agency.services.programs import (
    PROFILES_DIR,
    ProfileError,
    ProgramProfile,
    all_profiles,
    classify,
    find_dialog,
    is_ready,
    load_profile,
    profile_for,
    screen_state,
    takes_text,
)


@pytest.mark.parametrize("path", sorted(PROFILES_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_shipped_profile_validates(path) -> None:
    profile = load_profile(path)
    assert profile.name == path.stem


@pytest.mark.parametrize(
    "command, expected",
    [
        ("/usr/bin/python3 -m tmux_agency agent", "scripted"),
        ("tmux-agency agent", "scripted"),
        ("claude --dangerously-skip-permissions", "claude"),
        ("/home/me/.local/bin/codex", "codex"),
        ("aider --model sonnet", "aider"),
        ("gemini", "gemini"),
        ("bash", "shell"),
        ("/bin/zsh -l", "shell"),
        ("vim", "vim"),
    ],
)
def test_a_program_command_picks_its_profile(command: str, expected: str) -> None:
    assert profile_for(command).name == expected


def test_shells_never_take_messages() -> None:
    assert profile_for("bash").accepts_messages is False
    assert profile_for("sh").accepts_messages is False


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"process": ""}, "'process' must be a non-empty string"),
        ({"ready": "(unclosed"}, "not a valid regular expression"),
        ({"submit_delay_ms": -5}, "must not be negative"),
        ({"submit_delay_ms": "fast"}, "wrong type"),
        ({"states": {"sleepy": ["zzz"]}}, "states.sleepy"),
    ],
)
def test_a_broken_profile_is_refused_with_the_field_named(change: dict, needle: str) -> None:
    data = json.loads((PROFILES_DIR / "claude.json").read_text()) | change
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        ProgramProfile.from_dict(data, source="claude.json")


# --- recorded pane captures ------------------------------------------------------------------
# tests/data/captures/<program>[@<version>]/<state>[-<dialog>][.<variant>].txt: what `tmux
# capture-pane -p` shows in that state (see the README there). <program>@<version> folders are
# recorded from the real, pinned CLIs by record_real.py; scripted/ from the scripted agent.

CAPTURES = Path(__file__).resolve().parent / "data" / "captures"
CAPTURE_FILES = sorted(CAPTURES.glob("*/*.txt"))
RECORDED = [p for p in CAPTURE_FILES if "@" in p.parent.name]
OLD_STYLE = [p for p in CAPTURE_FILES if "@" not in p.parent.name]


def program_of(path: Path) -> str:
    return path.parent.name.split("@")[0]


def expected(path: Path) -> tuple[str, str | None]:
    """(state, dialog name) a capture's file name promises."""
    head = path.name.split(".")[0]
    state, _, rest = head.partition("-")
    return state, (rest if state == "dialog" else None)


def reading_expected(path: Path) -> str:
    """What classify() must read from a recorded capture: idle* is "ready", dialog-X is
    "dialog:X", pasted is its own case (text waits in the input: not typed over)."""
    state, dialog = expected(path)
    return {"idle": "ready"}.get(state, f"dialog:{dialog}" if state == "dialog" else state)


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_recorded_screen_of_a_real_cli_is_read_right(path: Path) -> None:
    profile = load_profile(PROFILES_DIR / f"{program_of(path)}.json")
    screen = path.read_text(encoding="utf-8")
    reading = classify(profile, screen)
    want = reading_expected(path)
    if want == "pasted":
        # The pasted text shows in the input (delivery waits for it before Enter), and nothing
        # more is typed on top of it.
        assert not takes_text(profile, reading), reading
        assert "hello from the recorder" in screen or (profile.pasted and re.search(profile.pasted, screen))
        return
    assert reading.state == want, f"{reading.state} by rule {reading.rule}"
    assert takes_text(profile, reading) == (want == "ready" or (want == "busy" and profile.accepts_while_busy))


@pytest.mark.parametrize("path", OLD_STYLE, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_capture_is_recognised_by_its_programs_state_rules(path: Path) -> None:
    profile = load_profile(PROFILES_DIR / f"{program_of(path)}.json")
    screen = path.read_text(encoding="utf-8")
    state, dialog = expected(path)
    found, shown = screen_state(profile, screen)
    assert (found, shown.name if shown else None) == (state, dialog)
    # The control room reads the same rules; the briefing waits for exactly these screens.
    assert detect_state(profile, screen) == state
    if state == "dialog":
        assert not is_ready(profile, screen)
        assert shown is not None and shown.action
    if state == "idle":
        assert is_ready(profile, screen)


@pytest.mark.parametrize("program", ["claude", "codex", "aider", "gemini", "scripted"])
def test_every_program_has_captures_of_its_states(program: str) -> None:
    states = {expected(p)[0] for p in CAPTURE_FILES if program_of(p) == program}
    wanted = {"idle", "busy"} | ({"dialog"} if program != "scripted" else set())
    assert wanted <= states


@pytest.mark.parametrize("path", sorted(PROFILES_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_a_profiles_start_command_picks_that_profile(path: Path) -> None:
    profile = load_profile(path)
    assert profile.start, "every shipped profile says how to start its program"
    assert profile_for(profile.start).name == profile.name


def test_an_answered_question_in_the_scrollback_is_no_dialog() -> None:
    # aider's start-up questions stay on screen above its prompt once answered.
    aider = load_profile(PROFILES_DIR / "aider.json")
    screen = (CAPTURES / "aider@0.86.1" / "idle.txt").read_text()
    assert "(Y)es/(N)o [Yes]: n" in screen and "(Y)es/(N)o [Yes]: y" in screen
    assert find_dialog(aider, screen) is None
    assert classify(aider, screen).state == "ready"


# --- bad profile data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"paste": "clipboard"}, "'paste' must be one of bracketed, keys"),
        ({"submit_keys": ["Enter", "rm -rf"]}, "'submit_keys' must list tmux key names"),
        ({"submit_keys": []}, "'submit_keys' must list tmux key names"),
        ({"startup_delay_s": -1}, "'startup_delay_s' must not be negative"),
        ({"startup_delay_s": True}, "'startup_delay_s' has the wrong type"),
        ({"start": ""}, "'start' must not be empty"),
        ({"dialogs": {"trust": "x"}}, "'dialogs' has the wrong type"),
        (
            {"dialogs": [{"name": "t", "match": ["x"], "action": "a", "colour": 1}]},
            "dialogs[0]: unknown field 'colour'",
        ),
        ({"dialogs": [{"name": "t", "match": [], "action": "a"}]}, "dialogs[0]: field 'match'"),
        ({"dialogs": [{"name": "t", "match": ["(x"], "action": "a"}]}, "dialogs[0].match: pattern '(x' is not a valid"),
        ({"dialogs": [{"name": "t", "match": ["x"]}]}, "dialogs[0]: field 'action'"),
        ({"dialogs": [{"name": "t", "match": ["x"], "action": "a", "lines": 0}]}, "dialogs[0]: field 'lines'"),
        ({"dialogs": [{"name": "t", "match": ["x"], "action": "a"}] * 2}, "a second dialog named 't'"),
        ({"states": {"busy": ["[unclosed"]}}, "states.busy: pattern '[unclosed' is not a valid"),
        ({"unset_env": ["CI; rm -rf ~"]}, "'unset_env' must list environment variable names"),
        ({"unset_env": ["CI\n"]}, "'unset_env' must list environment variable names"),
        ({"unset_env": "CI"}, "'unset_env' has the wrong type"),
    ],
)
def test_a_broken_profile_field_is_named(change: dict, needle: str) -> None:
    data = json.loads((PROFILES_DIR / "claude.json").read_text()) | change
    with pytest.raises(ProfileError) as caught:
        ProgramProfile.from_dict(data, source="claude.json")
    assert str(caught.value).startswith("claude.json: ")
    assert needle in str(caught.value)


# --- a workspace's own profiles ------------------------------------------------------------------


def write_profile(folder: Path, name: str, data: dict) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_a_workspace_profile_replaces_the_shipped_one_of_its_name(tmp_path: Path) -> None:
    shipped = profile_for("claude --resume")
    data = json.loads((PROFILES_DIR / "claude.json").read_text()) | {"submit_delay_ms": 900}
    write_profile(tmp_path / "profiles", "claude", data)
    assert profile_for("claude --resume", tmp_path).submit_delay_ms == 900
    assert profile_for("claude --resume").submit_delay_ms == shipped.submit_delay_ms  # other workspaces
    assert [p.name for p in all_profiles(tmp_path)].count("claude") == 1

    # An edit is seen at once by a process that keeps running (the control room, `run`).
    write_profile(tmp_path / "profiles", "claude", data | {"submit_delay_ms": 950, "description": "edited"})
    assert profile_for("claude --resume", tmp_path).submit_delay_ms == 950


def test_a_workspace_profile_adds_a_program(tmp_path: Path) -> None:
    write_profile(
        tmp_path / "profiles",
        "mycli",
        {
            "name": "mycli",
            "command": "^mycli\\b",
            "process": "mycli",
            "ready": "^mycli> ",
            "dialogs": [{"name": "login", "match": ["Log in first"], "action": "run mycli login"}],
        },
    )
    profile = profile_for("mycli --fast", tmp_path)
    assert profile.name == "mycli" and profile.dialogs[0].name == "login"
    assert screen_state(profile, "Welcome\nLog in first\n")[0] == "dialog"
    assert profile_for("claude", tmp_path).name == "claude"  # the shipped ones still apply


@pytest.mark.parametrize(
    "content, needle",
    [
        ('{"name": "mycli", "command": "mycli", "process": "mycli", "colour": "red"}', "unknown field 'colour'"),
        (
            '{"name": "mycli", "command": "mycli", "process": "mycli", "ready": "(x"}',
            "ready: pattern '(x' is not a valid",
        ),
        ('{"name": "mycli", "command": "mycli", "process": "mycli", "submit_delay_ms": -1}', "must not be negative"),
        ('{"name": "mycli", ', "not valid JSON"),
    ],
)
def test_a_broken_workspace_profile_is_reported_with_its_file(tmp_path: Path, content: str, needle: str) -> None:
    (tmp_path / "profiles").mkdir()
    path = tmp_path / "profiles" / "mycli.json"
    path.write_text(content)
    with pytest.raises(ProfileError) as caught:
        profile_for("mycli", tmp_path)
    assert str(caught.value).startswith(f"{path}: ") and needle in str(caught.value)
    assert isinstance(caught.value, UsageError)  # the CLI prints it as one line, exit status 2


# --- delivery never types into a dialog ----------------------------------------------------------


class RecordingTmux:
    """The few tmux calls delivery makes, answered from a fixed screen; typing is recorded."""

    socket_name = "recording"

    def __init__(self, screen: str) -> None:
        self.screen = screen
        self.typed: list[str] = []

    def pane_process_and_fingerprint(self, pane_id: str) -> tuple[tuple[int, bool, str], str]:
        return (os.getpid(), False, "S"), self.screen + "\n0,0,0,0"

    def capture(self, pane_id: str) -> str:  # a program that shows what is pasted into its input
        return self.screen + "\n" + "\n".join(t for t in self.typed if "+" not in t)

    def fingerprint(self, pane_id: str) -> str:
        return f"{len(self.typed)}"

    def paste_if_alive(
        self, pane_id: str, pid: int, text: str, bracketed: bool = True, submit: tuple[str, ...] = ()
    ) -> str:
        self.typed.append(text if bracketed else f"keys {text}")
        if submit:
            self.typed.append("+".join(submit))
        return "changed"

    def press_if_alive(self, pane_id: str, pid: int, keys: tuple[str, ...] = ("Enter",)) -> str:
        self.typed.append("+".join(keys))
        return "changed"


@pytest.mark.parametrize(
    "path", [p for p in CAPTURE_FILES if expected(p)[0] == "dialog"], ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_delivery_holds_a_message_while_a_dialog_shows(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "program_running", lambda *_: True)
    profile = load_profile(PROFILES_DIR / f"{program_of(path)}.json")
    tmux = RecordingTmux(path.read_text())
    outcome = delivery.type_into_agent(tmux, "%1", "TASK-1: go", profile, tmp_path, session="S")  # type: ignore[arg-type]
    assert outcome.outcome == "dialog" and expected(path)[1] in outcome.reason
    assert tmux.typed == []

    idle = RecordingTmux((path.parent / "idle.txt").read_text())
    assert delivery.type_into_agent(idle, "%1", "TASK-1: go", profile, tmp_path, session="S").ok  # type: ignore[arg-type]
    assert idle.typed == ["TASK-1: go", "Enter"]


def test_keys_mode_types_the_text_and_submit_keys_are_the_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "program_running", lambda *_: True)
    profile = ProgramProfile(
        name="x", command="x", process="x", paste="keys", submit_keys=["Escape", "Enter"], submit_delay_ms=0
    )
    tmux = RecordingTmux("x> ")
    assert delivery.type_into_agent(tmux, "%1", "hello", profile, tmp_path, session="S").ok  # type: ignore[arg-type]
    assert tmux.typed == ["keys hello", "Escape+Enter"]


def test_the_control_room_survives_a_broken_workspace_profile(workspace) -> None:
    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.models.schema import AgencyRecord, AgencySpec, AgentRecord, AgentSpec
    from tmux_agency.services.dashboard import Dashboard
    from tmux_agency.services.records import save_record

    spec = AgencySpec(name="Solo", coordinator=AgentSpec(name="lead"))
    agent = AgentRecord(name="lead", window="lead", is_coordinator=True, program="mycli")
    save_record(workspace, AgencyRecord(name="Solo", session="Solo", spec=spec, agents=[agent]))
    (workspace.root / "profiles").mkdir()
    (workspace.root / "profiles" / "mycli.json").write_text('{"name": "mycli"')
    dashboard = Dashboard(workspace, Tmux("tmux-agency-tests-no-such-server"))
    [view] = dashboard.agencies()
    assert view.agents[0].state == "unknown"
    assert dashboard.profile_error is not None and "mycli.json: not valid JSON" in dashboard.profile_error


# --- tmux-agency profiles classify -----------------------------------------------------------------


def test_profiles_classify_names_the_state_and_the_rule(cli_no_tmux) -> None:
    permission = CAPTURES / "claude@2.1.332" / "dialog-permission.txt"
    shown = cli_no_tmux("profiles", "classify", "--program", "claude", str(permission))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("dialog:permission  (messages wait)")
    assert "rule: dialogs[" in shown.stdout
    as_json = json.loads(
        cli_no_tmux("profiles", "classify", "--program", "claude", str(permission.parent / "idle.txt"), "--json").stdout
    )
    assert as_json["state"] == "ready" and as_json["types_into_it"] is True


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--program", "nosuch", "x.txt"], "no profile named 'nosuch'"),
        (["--program", "claude", "/nonexistent/capture.txt"], "cannot read /nonexistent/capture.txt"),
    ],
)
def test_profiles_classify_refuses_bad_input_in_one_line(cli_no_tmux, args: list[str], needle: str) -> None:
    result = cli_no_tmux("profiles", "classify", *args)
    assert result.returncode == 2 and needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
