"""Helpers the tests share: a real project repository, the real CLI in a subprocess, polling."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tmux_agency.doors.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def make_project(path: Path) -> Path:
    """A real git repository with one commit: the project agents work on."""
    path.mkdir(parents=True, exist_ok=True)
    git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README.md").write_text("# demo project\n")
    subprocess.run([*git, "-C", str(path), "add", "README.md"], check=True)
    subprocess.run([*git, "-C", str(path), "commit", "-q", "-m", "initial"], check=True)
    return path


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Cli:
    """Runs the real `tmux-agency` command in a subprocess, as a user or an agent would."""

    workspace: Workspace
    socket: str | None
    env: dict[str, str]

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120, stdin: bytes | None = None
    ) -> Result:
        """Run `tmux-agency ARGS`; `stdin`, when given, is piped in as bytes (for `-`)."""
        full_env = {**os.environ, **self.env, **(env or {})}
        full_env["TMUX_AGENCY_HOME"] = str(self.workspace.root)
        if self.socket:
            full_env["TMUX_AGENCY_SOCKET"] = self.socket
        proc = subprocess.run(
            [sys.executable, "-m", "tmux_agency", *args],
            capture_output=True,
            input=stdin,
            env=full_env,
            timeout=timeout,
            cwd=str(self.workspace.root),
        )
        decode = lambda data: data.decode("utf-8", errors="backslashreplace")  # noqa: E731
        return Result(proc.returncode, decode(proc.stdout), decode(proc.stderr))


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.1) -> object:
    """Poll until `predicate()` is truthy; fail the test with what it last returned."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    assert value, f"condition not met within {timeout}s"
    return value


def registry_bytes(ws: Workspace) -> dict[str, bytes]:
    """The registry's files, to show a failed command changed nothing."""
    return {
        p.name: p.read_bytes() for p in sorted(ws.registry_dir.glob("*")) if p.is_file() and not p.name.startswith(".")
    }
