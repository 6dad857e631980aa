"""Workspaces: init, discovery, the starter agencies, and this repository as a workspace."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tmux_agency.doors.workspace import STARTER_AGENCIES, find_workspace, init_workspace
from tmux_agency.models.errors import UsageError
from tmux_agency.models.schema import AgencySpec
from tmux_agency.services.specs import load_spec

from .helpers import REPO, make_project


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tmux_agency", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def test_init_makes_a_complete_workspace_and_is_harmless_twice(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    result = run("init", str(tmp_path / "ws"), "--project", str(project), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ws = tmp_path / "ws"
    for folder in ("agencies", "registry", "sandbox"):
        assert (ws / folder).is_dir()
    settings = json.loads((ws / "tmux-agency.json").read_text())
    assert (ws / settings["project"]).resolve() == project.resolve()
    for name in STARTER_AGENCIES:
        assert (ws / "agencies" / name / "agency.json").is_file()
        assert (ws / "agencies" / name / "coordinator.md").is_file()
    assert stat.S_IMODE((ws / "registry").stat().st_mode) == 0o700

    (ws / "agencies" / "CodeAgency" / "coordinator.md").write_text("# my own coordinator\n")
    again = run("init", str(ws), cwd=tmp_path)
    assert again.returncode == 0
    assert "nothing added" in again.stdout
    assert (ws / "agencies" / "CodeAgency" / "coordinator.md").read_text() == "# my own coordinator\n"


def test_init_defaults_the_project_to_the_current_folder(tmp_path: Path) -> None:
    project = make_project(tmp_path / "here")
    assert run("init", str(tmp_path / "ws"), cwd=project).returncode == 0
    ws = find_workspace(tmp_path / "ws")
    assert ws.project_dir() == project.resolve()


def test_init_refuses_a_missing_project(tmp_path: Path) -> None:
    result = run("init", str(tmp_path / "ws"), "--project", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "nope" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "ws").exists()


def test_the_workspace_is_found_from_a_subfolder_or_named(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path / "ws", make_project(tmp_path / "p"))
    deep = ws.agencies_dir / "CodeAgency" / "agents"
    assert find_workspace(cwd=deep).root == ws.root
    assert find_workspace(str(ws.root)).root == ws.root
    with pytest.raises(UsageError, match="no tmux-agency workspace"):
        find_workspace(cwd=tmp_path)
    with pytest.raises(UsageError, match="not a tmux-agency workspace"):
        find_workspace(str(tmp_path))


def test_no_workspace_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run("list", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("tmux-agency: no tmux-agency workspace")
    assert result.stderr.count("\n") == 1


def test_this_repository_is_a_workspace_as_it_is() -> None:
    ws = find_workspace(cwd=REPO / "tmux_agency")
    assert ws.root == REPO
    assert ws.project_dir() == REPO
    for name in STARTER_AGENCIES:
        spec = load_spec(ws, name)
        assert spec is not None and spec.name == name


@pytest.mark.parametrize("name", STARTER_AGENCIES)
def test_every_starter_agency_is_complete_and_valid(name: str) -> None:
    folder = REPO / "agencies" / name
    spec = AgencySpec.model_validate_json((folder / "agency.json").read_text())
    assert spec.agents, "a starter has specialists"
    assert spec.capabilities
    for agent in spec.all_agents():
        briefing = folder / spec.briefing_path(agent)
        text = briefing.read_text()
        assert "tmux-agency send coordinator" in text or agent is spec.coordinator
        assert len(text.splitlines()) >= 20, f"{briefing} is too thin to brief an AI"
    for script in spec.scripts:
        path = folder / "scripts" / script
        assert path.is_file() and os.access(path, os.X_OK), f"{path} is missing or not executable"
        helped = subprocess.run([str(path), "--help"], capture_output=True, text=True, timeout=30)
        assert helped.returncode == 0, f"{path} --help failed: {helped.stderr}"
        assert helped.stdout.strip()


def test_every_json_message_the_briefings_teach_is_accepted_by_send_inter() -> None:
    """Briefings and the bus's payload models must agree, or agents learn commands that fail."""
    import re

    from tmux_agency.models.payloads import parse_payload

    examples = []
    for md in sorted((REPO / "agencies").glob("*/**/*.md")):
        for match in re.finditer(r"tmux-agency (?:send-inter|broadcast) (?:\S+ )?'(\{.*?\})'", md.read_text()):
            examples.append((md.name, match.group(1)))
    assert len(examples) >= 10
    for name, payload in examples:
        try:
            parse_payload(payload)  # raises UsageError naming the field if a briefing is wrong
        except UsageError as exc:
            raise AssertionError(f"{name}: {exc}") from None
