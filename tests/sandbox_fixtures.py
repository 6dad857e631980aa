"""A real project repository with branches in several states, a workspace on it, and an agency
whose scripted agents keep transcripts: what the sandbox and control-room tests share."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from libtmux import Server

from tmux_agency.doors.workspace import Workspace, init_workspace

from .helpers import Cli

GIT = ["git", "-c", "user.name=Agent", "-c", "user.email=agent@example.com"]
PY = sys.executable
# The project measures coverage (coverage.py writes a Cobertura coverage.xml); pytest gets the
# JUnit report path from the sandbox through PYTEST_ADDOPTS.
TESTS_WITH_COVERAGE = f'sh -c "{PY} -m coverage run -m pytest -q -p no:cacheprovider && {PY} -m coverage xml -q"'
PLAIN_TESTS = f"{PY} -m pytest -q -p no:cacheprovider"


def run_git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def commit_on(repo: Path, branch: str, files: dict[str, str], message: str, base: str = "main") -> None:
    run_git(repo, "switch", "-q", "-c", branch, base)
    for name, text in files.items():
        (repo / name).write_text(text)
    run_git(repo, "add", *files)
    run_git(repo, "commit", "-q", "-m", message)
    run_git(repo, "switch", "-q", "main")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A small Python project with a passing test on main and branches in several states."""
    repo = tmp_path / "shop"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (repo / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n")
    (repo / ".gitignore").write_text("coverage.xml\n.coverage\n__pycache__/\n")
    run_git(repo, "add", ".")
    run_git(repo, "commit", "-q", "-m", "initial")
    commit_on(
        repo,
        "feature/mul",
        {
            "calc.py": "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n\n\ndef unused(x):\n    return x\n",
            "test_mul.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n\n\ndef test_mul_zero():\n    assert mul(5, 0) == 0\n",
        },
        "Add multiplication",
    )
    commit_on(
        repo,
        "feature/broken",
        {
            "test_div.py": "def test_div():\n    assert 1 / 2 == 0\n\n\ndef test_ok():\n    assert True\n",
        },
        "Add division tests",
    )
    commit_on(
        repo, "feature/hang", {"test_hang.py": "import time\n\n\ndef test_hang():\n    time.sleep(600)\n"}, "Hang"
    )
    return repo


@pytest.fixture
def ws(tmp_path: Path, shop: Path) -> Workspace:
    workspace, _ = init_workspace(tmp_path / "ws", shop)
    return workspace


@pytest.fixture
def lab(ws: Workspace, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    transcripts = tmp_path / "transcripts"
    monkeypatch.setenv("TMUX_AGENCY_AGENT_TRANSCRIPT", str(transcripts))
    monkeypatch.setenv("TMUX_AGENCY_AGENT_PACE", "30")  # listeners: they take no action in a test
    cli = Cli(ws, server.socket_name, {})
    assert cli("create", "CodeAgency", "--agents", "python-agent").returncode == 0
    cli.env["transcripts"] = str(transcripts)
    return cli


def coordinator_received(cli: Cli) -> list[str]:
    path = Path(cli.env["transcripts"]) / "CodeAgency-code-coordinator.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["text"] for line in path.read_text().splitlines() if not line.startswith('{"text": "#')]
