"""Agent program profiles are data: every shipped one validates and tells its program apart."""

from __future__ import annotations

import json

import pytest

from tmux_agency.programs import PROFILES_DIR, ProgramProfile, load_profile, profile_for


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
