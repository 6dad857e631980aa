"""The sandbox: an agency's branch checked out on its own, tested, demonstrated, then queued for
a human — the seed's deploy-to-sandbox.sh.

Each deploy gets a git worktree under sandbox/testing/, a data folder, a free port and an
environment that says so (SANDBOX=1, SANDBOX_DATA, SANDBOX_PORT), and a tmux session with
`tests`, `demo` and `monitor` windows. The facts come from machine-readable reports: JUnit XML
(pytest writes it through PYTEST_ADDOPTS, whatever the test command is) and Cobertura
coverage.xml where the project measures coverage.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tmux_agency.doors import git
from tmux_agency.doors.activity import log_activity
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.errors import UsageError, WorldError
from tmux_agency.models.schema import SuiteCounts
from tmux_agency.services.records import get_record

Progress = Callable[[str], None]


@dataclass
class TestRun:
    """The outcome of running an agency's test command in the sandbox."""

    __test__ = False  # not a pytest test class

    counts: SuiteCounts
    exit_code: int | None  # None: it timed out
    coverage: float | None
    log: Path
    failures: list[str]

    @property
    def green(self) -> bool:
        return self.exit_code == 0 and self.counts.green and self.counts.total > 0


@dataclass
class Deployment:
    agency: str
    branch: str
    base: str
    slug: str
    worktree: Path
    data_dir: Path
    port: int
    session: str
    run: TestRun
    files_changed: int
    additions: int
    deletions: int
    demo_url: str | None
    commit: str


def slug_for(agency: str, branch: str) -> str:
    """A name for the branch's sandbox that is safe for tmux and the file system."""
    return f"{agency}-{re.sub(r'[^A-Za-z0-9_-]+', '-', branch).strip('-')}"[:80]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def deploy_lock(ws: Workspace, slug: str) -> Iterator[None]:
    """One deploy of a branch at a time; a second one is refused, not queued behind."""
    ws.sandbox_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(ws.sandbox_dir / f".{slug}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"{slug.split('-', 1)[1]} is already being deployed for {slug.split('-', 1)[0]}") from None
        yield
    finally:
        os.close(fd)


def read_junit(path: Path) -> tuple[SuiteCounts, list[str]]:
    """Counts and failed test names from a JUnit XML report (pytest's or any other tool's)."""
    if not path.is_file():
        return SuiteCounts(), []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return SuiteCounts(), []
    passed = failed = skipped = errors = 0
    failures: list[str] = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
        if case.find("failure") is not None:
            failed += 1
            failures.append(name)
        elif case.find("error") is not None:
            errors += 1
            failures.append(name)
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return SuiteCounts(passed=passed, failed=failed, skipped=skipped, errors=errors), failures


def read_coverage(worktree: Path) -> float | None:
    """Line coverage in percent from a Cobertura coverage.xml, where the project writes one."""
    path = worktree / "coverage.xml"
    if not path.is_file():
        return None
    try:
        rate = ET.parse(path).getroot().get("line-rate")
        return round(float(rate) * 100, 1) if rate is not None else None
    except (ET.ParseError, ValueError):
        return None


def run_tests(command: str, worktree: Path, env: dict[str, str], log: Path, timeout_s: float) -> TestRun:
    """Run the test command in the worktree, its output to `log`, killed after `timeout_s`."""
    junit = log.with_suffix(".junit.xml")
    junit.unlink(missing_ok=True)
    run_env = {**env, "PYTEST_ADDOPTS": f"{env.get('PYTEST_ADDOPTS', '')} --junitxml={junit}".strip()}
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"test command {command!r} cannot be parsed: {exc}") from None
    with open(log, "w", encoding="utf-8") as out:
        try:
            proc = subprocess.Popen(
                argv, cwd=worktree, env=run_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        except FileNotFoundError:
            raise UsageError(f"test command {argv[0]!r} not found") from None
        try:
            exit_code: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole group: test runners start children
            proc.wait()
            exit_code = None
            out.write(f"\ntmux-agency: the test command timed out after {timeout_s:g}s\n")
    counts, failures = read_junit(junit)
    return TestRun(counts, exit_code, read_coverage(worktree), log, failures)


def deploy(
    ws: Workspace,
    tmux: Tmux,
    agency: str,
    branch: str,
    test_command: str | None = None,
    progress: Progress = lambda _: None,
) -> Deployment:
    """Check BRANCH out in isolation, test it, start its demo; leave it running for review.

    On any failure before the tests ran (bad input, a broken world) nothing is left behind.
    A red test run is returned (its worktree and session removed) for the caller to report.
    """
    record = get_record(ws, agency)
    project = ws.project_dir()
    git.check_repository(project)
    git.check_branch_name(project, branch)
    if not git.branch_exists(project, branch):
        raise UsageError(f"unknown branch {branch!r} in {project}")
    settings = ws.settings()
    base = settings.base_branch or git.current_branch(project)
    if not base:
        raise UsageError(f"{project} has no branch checked out; set base_branch in {ws.settings_path}")
    if base == branch:
        raise UsageError(f"{branch!r} is the base branch: deploy a feature branch")
    command = test_command or record.spec.sandbox.test_command
    if not command:
        raise UsageError(
            f"{agency} has no test command: set sandbox.test_command in agency.json or pass --test-command"
        )
    dirty = git.is_dirty(project)
    if dirty:
        raise UsageError(
            f"the project repository {project} has uncommitted changes ({', '.join(dirty[:3])}): commit or stash them"
        )
    tmux.check_installed()

    slug = slug_for(agency, branch)
    session = f"sandbox-{slug}"[:90]
    testing = ws.sandbox_dir / "testing"
    worktree = testing / slug
    data_dir = testing / f"{slug}.data"
    log = testing / f"{slug}.log"
    with deploy_lock(ws, slug):
        remove_sandbox(ws, tmux, worktree, session)  # a previous revision of the same branch
        testing.mkdir(parents=True, exist_ok=True)
        try:
            git.git(project, "worktree", "add", "--detach", str(worktree), branch)
            data_dir.mkdir(exist_ok=True)
            port = free_port()
            env = {
                **os.environ,
                "SANDBOX": "1",
                "SANDBOX_DATA": str(data_dir),
                "SANDBOX_PORT": str(port),
                "PORT": str(port),
                "TMUX_AGENCY_SANDBOX": slug,
            }
            for key in ("TMUX_AGENCY_AGENCY", "TMUX_AGENCY_AGENT", "TMUX", "TMUX_PANE"):
                env.pop(key, None)
            sandbox_env = {k: env[k] for k in ("SANDBOX", "SANDBOX_DATA", "SANDBOX_PORT", "PORT")}
            log.write_text("")
            tmux.new_session(session, "tests", str(worktree), sandbox_env)
            tests_pane = _pane_of(tmux, session, "tests")
            tmux.run_in_shell(tests_pane, f"tail -n +1 -f {shlex.quote(str(log))}")
            demo_pane = tmux.new_window(session, "demo", str(worktree), sandbox_env)
            monitor_pane = tmux.new_window(session, "monitor", str(worktree), sandbox_env)
            tmux.run_in_shell(
                monitor_pane, f"git log --oneline -5 {shlex.quote(branch)}; git diff --stat {shlex.quote(base)}...HEAD"
            )
            progress(f"{agency}: testing {branch} in {worktree} ({command})")
            run = run_tests(command, worktree, env, log, settings.test_timeout_s)
            files, added, removed = git.diff_stat(project, base, branch)
            demo_url = None
            demo = record.spec.sandbox.demo_command
            if run.green and demo:
                tmux.run_in_shell(demo_pane, demo)
                demo_url = f"http://localhost:{port}/"
        except BaseException:
            remove_sandbox(ws, tmux, worktree, session)
            raise
        if not run.green:
            remove_sandbox(ws, tmux, worktree, session)
        log_activity(
            ws.agency_dir(agency),
            "DEPLOY",
            f"{branch}: {run.counts.passed} passed, {run.counts.failed} failed, {run.counts.errors} errors"
            + (" (timed out)" if run.exit_code is None else ""),
        )
        return Deployment(
            agency,
            branch,
            base,
            slug,
            worktree,
            data_dir,
            port,
            session,
            run,
            files,
            added,
            removed,
            demo_url,
            git.commit_of(project, branch),
        )


def _pane_of(tmux: Tmux, session: str, window: str) -> str:
    for pane in tmux.list_panes():
        if pane.session == session and pane.window_name == window:
            return pane.pane_id
    raise WorldError(f"tmux: window {window!r} of {session!r} vanished")


def remove_sandbox(ws: Workspace, tmux: Tmux, worktree: Path, session: str | None) -> None:
    """Remove a sandbox's tmux session and git worktree (and its data), quietly if they are gone."""
    if session:
        try:
            if tmux.has_session(session):
                tmux.kill_session(session)
        except WorldError:
            pass
    project = ws.project_dir()
    if worktree.exists():
        git.git(project, "worktree", "remove", "--force", str(worktree), check=False)
        shutil.rmtree(worktree, ignore_errors=True)
    shutil.rmtree(worktree.with_name(worktree.name + ".data"), ignore_errors=True)
    git.git(project, "worktree", "prune", check=False)
