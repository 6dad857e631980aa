"""Shared fixtures: an isolated HOME, a real workspace on disk, a real tmux server per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tmux_agency.doors.workspace import Workspace, init_workspace

from .helpers import Cli, make_project

# The sandbox fixtures (shop, ws, lab) serve the sandbox and the control-room tests alike.
pytest_plugins = ["tests.sandbox_fixtures"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of our own, so a user's ~/.tmux.conf or shell rc never leaks into a test, and no
    TMUX_AGENCY_* or TMUX variable of the developer's own session steers one."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for key in list(os.environ):
        if key.startswith("TMUX_AGENCY_") or key in ("TMUX", "TMUX_PANE"):
            monkeypatch.delenv(key, raising=False)
    # Scripted agents finish a task in a fifth of a second instead of two.
    monkeypatch.setenv("TMUX_AGENCY_AGENT_PACE", "0.2")
    monkeypatch.setenv("SHELL", "/bin/sh")
    return home


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    project = make_project(tmp_path / "project")
    ws, _ = init_workspace(tmp_path / "ws", project)
    return ws


@pytest.fixture
def socket_name(server) -> str:  # `server` is libtmux's pytest fixture: an isolated tmux server
    return server.socket_name


@pytest.fixture
def cli(workspace: Workspace, socket_name: str) -> Cli:
    return Cli(workspace, socket_name, {})


@pytest.fixture
def cli_no_tmux(workspace: Workspace) -> Cli:
    return Cli(workspace, None, {})
