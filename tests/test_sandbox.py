"""Sandbox and approvals with a real temporary git repository and a real tmux server."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
from libtmux import Server

from tmux_agency.doors.workspace import Workspace

from .helpers import Cli, registry_bytes, wait_for
from .sandbox_fixtures import (
    PLAIN_TESTS,
    PY,
    TESTS_WITH_COVERAGE,
    commit_on,
    coordinator_received,
    run_git,
)
from .test_agencies import assert_refused


def sessions(server: Server) -> list[str]:
    return server.cmd("list-sessions", "-F", "#{session_name}").stdout


def worktrees(repo: Path) -> list[str]:
    return [
        line for line in run_git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")
    ]


def approvals(cli: Cli) -> list[dict]:
    return json.loads(cli("approvals", "--all", "--json").stdout)["items"]


def test_a_green_branch_reaches_the_queue_with_its_facts(lab: Cli, shop: Path, server: Server) -> None:
    result = lab("deploy", "CodeAgency", "feature/mul", "--test-command", TESTS_WITH_COVERAGE)
    assert result.returncode == 0, result.stderr
    assert "3 passed, 0 failed" in result.stdout
    [item] = approvals(lab)
    assert (item["id"], item["agency"], item["branch"], item["base"], item["status"]) == (
        1,
        "CodeAgency",
        "feature/mul",
        "main",
        "pending",
    )
    assert item["title"] == "Add multiplication"
    assert item["tests"] == {"passed": 3, "failed": 0, "skipped": 0, "errors": 0}
    assert 70 < item["coverage"] < 100, "unused() is never called: coverage is measured, not assumed"
    assert (item["files_changed"], item["additions"], item["deletions"]) == (2, 17, 0)  # calc.py +8, test_mul.py +9
    assert item["commit"] == run_git(shop, "rev-parse", "feature/mul").strip()
    # Isolated: its own worktree, session and environment, left running for the review.
    worktree = Path(item["worktree"])
    assert worktree.is_relative_to(lab.workspace.sandbox_dir / "testing") and (worktree / "test_mul.py").exists()
    assert item["session"] in sessions(server)
    windows = server.cmd("list-windows", "-t", f"={item['session']}", "-F", "#{window_name}").stdout
    assert windows == ["tests", "demo", "monitor"]
    box = lab("approvals").stdout
    assert "[1] CodeAgency: Add multiplication" in box and "Tests: 3 passed, 0 failed" in box
    assert "Files: 2 changed, +17 -0" in box


def test_the_sandbox_environment_says_it_is_a_sandbox(lab: Cli, shop: Path) -> None:
    commit_on(
        shop,
        "feature/env",
        {
            "test_env.py": (
                "import os\n\n\ndef test_env():\n"
                "    assert os.environ['SANDBOX'] == '1'\n"
                "    assert os.path.isdir(os.environ['SANDBOX_DATA'])\n"
                "    assert 1024 < int(os.environ['SANDBOX_PORT']) < 65536\n"
                "    assert 'TMUX_AGENCY_AGENCY' not in os.environ\n"
            ),
        },
        "Check the sandbox environment",
    )
    result = lab("deploy", "CodeAgency", "feature/env", "--test-command", PLAIN_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_red_branch_does_not_reach_the_queue_and_its_coordinator_hears_why(
    lab: Cli, shop: Path, server: Server
) -> None:
    result = lab("deploy", "CodeAgency", "feature/broken", "--test-command", PLAIN_TESTS)
    assert result.returncode == 1
    assert "2 passed, 1 failed" in result.stdout  # test_add, test_ok; test_div fails
    assert "is red (tests failed)" in result.stderr
    assert approvals(lab) == []
    task = wait_for(lambda: [t for t in coordinator_received(lab) if t.startswith("TASK-FIX-")])[0]
    assert "feature/broken" in task and "test_div" in task and "1 failed" in task
    assert sessions(server) == ["CodeAgency"] and len(worktrees(shop)) == 1, "nothing left behind"


def test_approve_merges_records_cleans_up_and_tells_the_agency(lab: Cli, shop: Path, server: Server) -> None:
    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    result = lab("approve", "1")
    assert result.returncode == 0, result.stderr
    head = run_git(shop, "log", "-1", "--format=%s%n%P").splitlines()
    assert head[0].startswith("Merge feature/mul into main: approval #1")
    assert len(head[1].split()) == 2, "a merge commit"
    assert (shop / "test_mul.py").exists()
    [item] = approvals(lab)
    assert item["status"] == "approved" and item["decided_by"] and item["decided_at"]
    log = (lab.workspace.registry_dir / "approved.jsonl").read_text().splitlines()
    assert json.loads(log[0])["branch"] == "feature/mul"
    assert sessions(server) == ["CodeAgency"] and len(worktrees(shop)) == 1
    wait_for(lambda: any(t.startswith("COMPLETE") and "approval #1" in t for t in coordinator_received(lab)))
    assert_refused(lab("approve", "1"), 2, "already approved")


def test_reject_sends_the_feedback_and_keeps_the_lesson(lab: Cli, shop: Path, server: Server) -> None:
    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    result = lab("reject", "1", "--feedback", "Name it multiply(), and test negative numbers")
    assert result.returncode == 0, result.stderr
    task = wait_for(lambda: [t for t in coordinator_received(lab) if t.startswith("TASK-REVIEW-1")])[0]
    assert "Name it multiply(), and test negative numbers" in task
    lessons = (lab.workspace.agency_dir("CodeAgency") / "lessons.md").read_text()
    assert "feature/mul (approval #1, rev 1): Name it multiply(), and test negative numbers" in lessons
    assert run_git(shop, "log", "-1", "--format=%s").strip() == "initial", "nothing merged"
    assert sessions(server) == ["CodeAgency"] and len(worktrees(shop)) == 1
    # The lesson is part of every later briefing of the agency ...
    from tmux_agency.services.briefings import compose_briefing
    from tmux_agency.services.records import get_record

    spec = get_record(lab.workspace, "CodeAgency").spec
    assert "test negative numbers" in compose_briefing(spec, spec.coordinator, lab.workspace.agency_dir("CodeAgency"))
    # ... and deploying the branch again makes a new revision of the same item.
    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    [item] = approvals(lab)
    assert (item["id"], item["revision"], item["status"]) == (1, 2, "pending")


def test_the_gate_refuses_decisions_from_an_agency_pane(lab: Cli) -> None:
    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    before = registry_bytes(lab.workspace)
    pane = {"TMUX_AGENCY_AGENCY": "CodeAgency", "TMUX_AGENCY_AGENT": "code-coordinator"}
    assert_refused(lab("approve", "1", env=pane), 2, "agents cannot approve")
    assert_refused(lab("reject", "1", "--feedback", "x", env=pane), 2, "agents cannot approve")
    assert registry_bytes(lab.workspace) == before
    # The variable is a hint that can only refuse: what decides is where the process runs, and
    # test_gate.py types every way around it into a real agency pane.


def test_the_same_pane_id_on_another_tmux_server_is_not_an_agency_pane(lab: Cli) -> None:
    """A person in their own tmux (pane %0 there) decides about agencies on another server, whose
    %0 is a coordinator: that is a human, and the decision goes through."""
    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    coordinator_pane = json.loads(lab("status", "CodeAgency", "--json").stdout)["agents"][0]["pane_id"]
    elsewhere = {"TMUX": f"/tmp/tmux-{os.getuid()}/the-users-own-server,1,0", "TMUX_PANE": coordinator_pane}
    result = lab("reject", "1", "--feedback", "Handle accents too", env=elsewhere)
    assert result.returncode == 0, result.stderr
    assert approvals(lab)[0]["status"] == "rejected"


def test_a_merge_conflict_is_reported_and_nothing_is_half_applied(lab: Cli, shop: Path) -> None:
    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    (shop / "calc.py").write_text("def add(a, b):\n    return b + a  # main moved on\n")
    run_git(shop, "commit", "-q", "-am", "Change add on main")
    result = lab("approve", "1")
    assert_refused(result, 1, "cannot merge feature/mul into main", "calc.py")
    assert run_git(shop, "status", "--porcelain") == ""
    assert run_git(shop, "log", "-1", "--format=%s").strip() == "Change add on main"
    assert approvals(lab)[0]["status"] == "pending"


def test_the_interactive_approval_cli(lab: Cli, shop: Path) -> None:
    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    env = {"TMUX_AGENCY_HOME": str(lab.workspace.root), "TMUX_AGENCY_SOCKET": lab.socket or ""}
    session = subprocess.run(
        [PY, "-m", "tmux_agency", "approval-cli"],
        input="1\nr\nMore tests, please\ns\nq\n",
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert session.returncode == 0, session.stderr
    assert "PENDING APPROVALS (1)" in session.stdout
    assert "calc.py" in session.stdout, "the diff stat is shown"
    assert "feature/mul (approval #1, rev 1): More tests, please" in session.stdout, (
        "the lesson is shown before it is saved"
    )
    assert "rejected #1" in session.stdout
    assert approvals(lab)[0]["status"] == "rejected"


# --- bad input and a hostile world: one line, nothing left behind ---------------------------------


def assert_nothing_left(lab: Cli, shop: Path, server: Server) -> None:
    assert sessions(server) == ["CodeAgency"]
    assert len(worktrees(shop)) == 1
    assert approvals(lab) == []
    testing = lab.workspace.sandbox_dir / "testing"
    assert not testing.exists() or not [p for p in testing.iterdir() if p.is_dir()]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["deploy", "CodeAgency", "feature/nope"], "unknown branch 'feature/nope'"),
        (["deploy", "CodeAgency", "bad..name"], "invalid branch name"),
        (["deploy", "CodeAgency", "main"], "is the base branch"),
        (["deploy", "Nobody", "feature/mul"], "unknown agency 'Nobody'"),
        (["approve", "7"], "no approval #7"),
        (["approve", "seven"], "not a number"),
        (["reject", "7", "--feedback", "x"], "no approval #7"),
        (["reject", "1"], "--feedback"),
    ],
)
def test_bad_input_is_refused_and_leaves_nothing(
    lab: Cli, shop: Path, server: Server, args: list[str], needle: str
) -> None:
    before = registry_bytes(lab.workspace)
    assert_refused(lab(*args), 2, needle)
    assert registry_bytes(lab.workspace) == before
    assert_nothing_left(lab, shop, server)


def test_a_dirty_or_missing_project_is_refused(lab: Cli, shop: Path, server: Server) -> None:
    (shop / "calc.py").write_text("# half-edited\n")
    assert_refused(lab("deploy", "CodeAgency", "feature/mul"), 2, "uncommitted changes", "calc.py")
    assert_nothing_left(lab, shop, server)
    run_git(shop, "checkout", "calc.py")
    settings = json.loads(lab.workspace.settings_path.read_text())
    lab.workspace.settings_path.write_text(json.dumps({**settings, "project": str(shop.parent / "gone")}))
    assert_refused(lab("deploy", "CodeAgency", "feature/mul"), 2, "does not exist")
    plain = shop.parent / "plain"
    plain.mkdir()
    lab.workspace.settings_path.write_text(json.dumps({**settings, "project": str(plain)}))
    assert_refused(lab("deploy", "CodeAgency", "feature/mul"), 2, "not a git repository")


def test_a_hanging_test_command_times_out_and_leaves_nothing(lab: Cli, shop: Path, server: Server) -> None:
    settings = json.loads(lab.workspace.settings_path.read_text())
    lab.workspace.settings_path.write_text(json.dumps({**settings, "test_timeout_s": 3}))
    result = lab("deploy", "CodeAgency", "feature/hang", "--test-command", PLAIN_TESTS, timeout=60)
    assert result.returncode == 1
    assert "timed out" in result.stderr
    assert_nothing_left(lab, shop, server)
    wait_for(lambda: any("timed out" in t for t in coordinator_received(lab)))


def test_the_same_branch_deployed_twice_at_once_is_refused_once(lab: Cli, shop: Path, server: Server) -> None:
    slow = f'sh -c "sleep 2 && {PY} -m pytest -q -p no:cacheprovider"'
    results = {}

    def deploy(n: int) -> None:
        results[n] = lab("deploy", "CodeAgency", "feature/mul", "--test-command", slow)

    threads = [threading.Thread(target=deploy, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.returncode for r in results.values())
    assert codes == [0, 2], [r.stderr for r in results.values()]
    refused = next(r for r in results.values() if r.returncode == 2)
    assert "already being deployed" in refused.stderr and refused.stderr.count("\n") == 1
    assert len(approvals(lab)) == 1
    assert len(worktrees(shop)) == 2, "one sandbox: the refused deploy removed nothing of the other's"


def test_a_configured_demo_is_started_and_its_url_answers(ws: Workspace, server: Server, shop: Path) -> None:
    folder = ws.agency_dir("WebAgency")
    folder.mkdir()
    (folder / "agency.json").write_text(
        json.dumps(
            {
                "name": "WebAgency",
                "coordinator": {"name": "web-coordinator"},
                "agents": [{"name": "frontend"}],
                "sandbox": {
                    "test_command": PLAIN_TESTS,
                    "demo_command": f"{PY} -m http.server $SANDBOX_PORT --bind 127.0.0.1",
                },
            }
        )
    )
    cli = Cli(ws, server.socket_name, {})
    assert cli("create", "WebAgency").returncode == 0
    result = cli("deploy", "WebAgency", "feature/mul")
    assert result.returncode == 0, result.stderr
    [item] = approvals(cli)
    assert item["demo_url"].startswith("http://localhost:")
    import urllib.request

    def page() -> str:
        try:
            with urllib.request.urlopen(item["demo_url"].replace("localhost", "127.0.0.1"), timeout=2) as response:
                return response.read().decode()
        except OSError:
            return ""

    assert "test_mul.py" in wait_for(page), "the demo serves the branch's own files"


def test_the_notify_hook_hears_of_new_work(lab: Cli, tmp_path: Path) -> None:
    heard = tmp_path / "heard.txt"
    hook = tmp_path / "hook.sh"
    hook.write_text(f'#!/bin/sh\necho "$TMUX_AGENCY_APPROVAL_ID $TMUX_AGENCY_APPROVAL_BRANCH | $1" > {heard}\n')
    hook.chmod(0o755)
    settings = json.loads(lab.workspace.settings_path.read_text())
    lab.workspace.settings_path.write_text(json.dumps({**settings, "notify_command": str(hook)}))
    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    assert heard.read_text().startswith("1 feature/mul | tmux-agency: approval #1 from CodeAgency")
