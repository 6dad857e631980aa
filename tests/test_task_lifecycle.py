"""The task life cycle, driven by the traffic and the approval queue: first through the service
with real messages, then end to end on a real tmux server where scripted agents do the talking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from libtmux import Server

from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.schema import ApprovalItem, SuiteCounts
from tmux_agency.services.bus import new_message
from tmux_agency.services.tasks import graph, lifecycle, storage

from .helpers import Cli, wait_for
from .sandbox_fixtures import PLAIN_TESTS

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def said(agency: str, agent: str, text: str, minute: int) -> dict:
    """A message an agent of `agency` sent to its coordinator, as the bus stores it."""
    from tmux_agency.services.bus import message_type

    return new_message(
        "intra", message_type(text), (agency, agent), (agency, "lead"), text, at=T0 + timedelta(minutes=minute)
    )


def handoff(frm: str, to: str, payload: dict, minute: int) -> dict:
    return new_message(
        "inter",
        payload["type"],
        (frm, "coordinator"),
        (to, "lead"),
        json.dumps(payload),
        payload,
        at=T0 + timedelta(minutes=minute),
    )


def decided(item_id: int, agency: str, branch: str, status: str, revision: int = 1) -> ApprovalItem:
    return ApprovalItem(
        id=item_id,
        agency=agency,
        branch=branch,
        base="main",
        title="work",
        commit="0" * 40,
        tests=SuiteCounts(passed=3),
        revision=revision,
        status=status,
    )


def state(ws: Workspace, tid: str) -> str:
    return storage.get_task(ws, tid).state


def define_plain_agency(ws: Workspace, name: str) -> None:
    """An agency without a sandbox test command: its COMPLETE needs no review."""
    folder = ws.agencies_dir / name
    folder.mkdir(parents=True)
    (folder / "agency.json").write_text(
        json.dumps({"name": name, "capabilities": ["docs"], "coordinator": {"name": "lead"}})
    )


# --- through the service -------------------------------------------------------------------------


def test_traffic_moves_a_task_through_its_states(workspace: Workspace) -> None:
    ws = workspace
    define_plain_agency(ws, "Writers")
    lifecycle.add_task(ws, None, "Login API", agency="CodeAgency")  # T-1: CodeAgency reviews in the sandbox
    lifecycle.add_task(ws, None, "Release notes", agency="Writers")  # T-2: Writers do not

    steps = [
        (said("CodeAgency", "python-agent", "STATUS python-agent: working on TASK-T-1", 1), "T-1", "working"),
        (
            said("CodeAgency", "python-agent", "QUESTION from python-agent: which auth library for T-1?", 2),
            "T-1",
            "blocked",
        ),
        (said("CodeAgency", "python-agent", "STATUS python-agent: T-1 again, answer received", 3), "T-1", "working"),
        (said("CodeAgency", "python-agent", "BLOCKED python-agent: T-1 waits for credentials", 4), "T-1", "blocked"),
        (said("CodeAgency", "python-agent", "COMPLETE python-agent: TASK-T-1 done", 5), "T-1", "in_review"),
        (said("Writers", "scribe", "COMPLETE scribe: T-2 written", 6), "T-2", "completed"),
    ]
    for message, tid, expected in steps:
        assert lifecycle.on_traffic(ws, None, message) == tid
        assert state(ws, tid) == expected, message["body"]
    history = storage.get_task(ws, "T-1").history
    assert [(h.event, h.state, h.by) for h in history[1:]] == [
        ("STATUS", "working", "CodeAgency/python-agent"),
        ("QUESTION", "blocked", "CodeAgency/python-agent"),
        ("STATUS", "working", "CodeAgency/python-agent"),
        ("BLOCKED", "blocked", "CodeAgency/python-agent"),
        ("COMPLETE", "in_review", "CodeAgency/python-agent"),
    ]
    assert history[-1].time == T0 + timedelta(minutes=5), "a step is dated by its message"


def test_only_the_owning_agency_moves_a_task_and_a_silent_name_means_its_only_task(workspace: Workspace) -> None:
    ws = workspace
    lifecycle.add_task(ws, None, "Login API", agency="CodeAgency")  # T-1
    lifecycle.add_task(ws, None, "Test login", agency="QAAgency", after=["T-1"])  # T-2
    # QA talking about T-1 does not move CodeAgency's task; nor does a human, nor a NOTE.
    assert lifecycle.on_traffic(ws, None, said("QAAgency", "test-lead", "STATUS test-lead: waiting for T-1", 1)) is None
    assert (
        lifecycle.on_traffic(
            ws, None, new_message("intra", "COMPLETE", (None, "human"), ("CodeAgency", "lead"), "COMPLETE T-1")
        )
        is None
    )
    assert lifecycle.on_traffic(ws, None, said("CodeAgency", "python-agent", "NOTE: T-1 is fun", 1)) is None
    assert state(ws, "T-1") == "submitted"
    # A message naming no task moves nothing while the agency has nothing in hand...
    assert lifecycle.on_traffic(ws, None, said("CodeAgency", "python-agent", "STATUS python-agent: 60%", 2)) is None
    # ...and its only task once it has one.
    assert (
        lifecycle.on_traffic(ws, None, said("CodeAgency", "python-agent", "STATUS python-agent: T-1 started", 3))
        == "T-1"
    )
    assert (
        lifecycle.on_traffic(ws, None, said("CodeAgency", "python-agent", "BLOCKED python-agent: no database", 4))
        == "T-1"
    )
    assert state(ws, "T-1") == "blocked"
    # A handoff names its task in the payload and brings the branch along.
    message = handoff("CodeAgency", "QAAgency", {"type": "handoff", "task": "T-1", "branch": "feature/login"}, 5)
    assert lifecycle.on_traffic(ws, None, message) == "T-1"
    task = storage.get_task(ws, "T-1")
    assert (task.state, task.branch, task.history[-1].event) == ("in_review", "feature/login", "handoff")


def test_the_review_completes_a_task_or_sends_it_back_with_what_had_started_after_it(workspace: Workspace) -> None:
    ws = workspace
    define_plain_agency(ws, "Writers")
    lifecycle.add_task(ws, None, "Login API", agency="Writers")  # T-1 (no review: COMPLETE completes it)
    lifecycle.add_task(ws, None, "Test login", agency="QAAgency", after=["T-1"])  # T-2
    lifecycle.add_task(ws, None, "Load test", agency="QAAgency", after=["T-2"])  # T-3
    lifecycle.add_task(ws, None, "Docs", agency="DocsAgency", after=["T-1"])  # T-4
    lifecycle.on_traffic(ws, None, said("Writers", "scribe", "COMPLETE scribe: T-1 done", 1))
    assert graph.ready_ids(storage.load_tasks(ws)) == {"T-2", "T-4"}
    lifecycle.on_traffic(ws, None, said("QAAgency", "test-lead", "STATUS test-lead: on T-2", 2))
    lifecycle.on_traffic(ws, None, said("DocsAgency", "tech-writer", "BLOCKED tech-writer: T-4 needs the API spec", 3))
    assert (state(ws, "T-2"), state(ws, "T-4")) == ("working", "blocked")

    # The human asks for a review of T-1 after all: the deploy of its branch puts it in review.
    assert lifecycle.on_approval(ws, None, decided(7, "Writers", "feature/T-1-login", "pending")) == "T-1"
    assert (state(ws, "T-1"), storage.get_task(ws, "T-1").approval) == ("in_review", 7)
    # Rejected: T-1 goes back to work, and what had started after it waits again.
    assert lifecycle.on_approval(ws, None, decided(7, "Writers", "feature/T-1-login", "rejected")) == "T-1"
    t1, t2, t3, t4 = (storage.get_task(ws, f"T-{n}") for n in range(1, 5))
    assert (t1.state, t1.rejections) == ("working", 1)
    assert (t2.state, t2.history[-1].event, t2.history[-1].by) == ("submitted", "reset", "T-1 (approval #7 rejected)")
    assert (t4.state, t4.history[-1].event) == ("submitted", "reset")
    assert (t3.state, t3.history[-1].event) == ("submitted", "added"), "T-3 had not started: nothing to undo"
    assert graph.ready_ids(storage.load_tasks(ws)) == set()

    # Deployed again and approved: completed, and its dependents are ready once more.
    lifecycle.on_approval(ws, None, decided(7, "Writers", "feature/T-1-login", "pending", revision=2))
    assert state(ws, "T-1") == "in_review"
    lifecycle.on_approval(ws, None, decided(7, "Writers", "feature/T-1-login", "approved", revision=2))
    assert state(ws, "T-1") == "completed"
    assert graph.ready_ids(storage.load_tasks(ws)) == {"T-2", "T-4"}
    # Every step is in the review log the metrics read.
    log = [json.loads(line) for line in (ws.registry_dir / "reviews.jsonl").read_text().splitlines()]
    assert [(r["status"], r["revision"], r["task"]) for r in log] == [
        ("pending", 1, "T-1"),
        ("rejected", 1, "T-1"),
        ("pending", 2, "T-1"),
        ("approved", 2, "T-1"),
    ]


def test_an_approval_finds_its_task_by_link_name_branch_or_the_only_one_in_hand(workspace: Workspace) -> None:
    ws = workspace
    for title in ("A", "B", "C"):
        lifecycle.add_task(ws, None, title, agency="CodeAgency")
    # Three tasks, none in hand: a deploy naming none of them moves nothing.
    assert lifecycle.on_approval(ws, None, decided(1, "CodeAgency", "feature/x", "pending")) is None
    assert lifecycle.on_approval(ws, None, decided(2, "CodeAgency", "feature/T-2-b", "pending")) == "T-2"
    lifecycle.on_traffic(
        ws, None, handoff("CodeAgency", "QAAgency", {"type": "handoff", "task": "T-3", "branch": "feature/c"}, 1)
    )
    assert lifecycle.on_approval(ws, None, decided(3, "CodeAgency", "feature/c", "pending")) == "T-3"
    assert lifecycle.on_approval(ws, None, decided(2, "CodeAgency", "feature/renamed", "approved")) == "T-2", "linked"
    lifecycle.on_traffic(ws, None, said("CodeAgency", "python-agent", "STATUS python-agent: T-1", 2))
    lifecycle.on_approval(ws, None, decided(3, "CodeAgency", "feature/c", "approved"))
    assert lifecycle.on_approval(ws, None, decided(4, "CodeAgency", "feature/y", "pending")) == "T-1", (
        "the only one in hand"
    )


# --- end to end, on a real tmux server --------------------------------------------------------------


@pytest.fixture
def shop_team(ws: Workspace, server: Server, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """CodeAgency (coordinator and python-agent, scripted) at work on the shop project."""
    monkeypatch.setenv("TMUX_AGENCY_AGENT_PACE", "0.2")
    cli = Cli(ws, server.socket_name, {})
    result = cli("create", "CodeAgency", "--agents", "python-agent")
    assert result.returncode == 0, result.stderr
    return cli


def events(cli: Cli, tid: str) -> list[tuple[str, str]]:
    shown = json.loads(cli("task", "show", tid, "--json").stdout)
    return [(h["event"], h["state"]) for h in shown["history"]]


def test_scripted_agents_move_tasks_from_dispatch_to_approval(shop_team: Cli, ws: Workspace) -> None:
    cli = shop_team
    first = json.loads(cli("task", "add", "Add multiplication", "--agency", "CodeAgency", "--json").stdout)
    assert (first["id"], first["sent"]) == ("T-1", True)
    second = json.loads(cli("task", "add", "Document mul", "--agency", "CodeAgency", "--after", "T-1", "--json").stdout)
    assert (second["id"], second["sent"], second["waiting_for"]) == ("T-2", False, ["T-1"])

    # The coordinator hands TASK-T-1 to python-agent, whose STATUS and COMPLETE move the task.
    wait_for(lambda: events(cli, "T-1")[-1] == ("COMPLETE", "in_review"), timeout=60)
    assert events(cli, "T-1") == [
        ("added", "submitted"),
        ("assigned", "submitted"),
        ("STATUS", "working"),
        ("COMPLETE", "in_review"),
    ]
    log = json.loads(cli("log", "--json").stdout)
    assert log[0]["body"].startswith("TASK-T-1: Add multiplication") and log[0]["sender_agent"] == "task-graph"
    assert json.loads(cli("task", "show", "T-2", "--json").stdout)["state"] == "submitted"

    # Deployed: the approval item reviews T-1.
    assert cli("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    shown = json.loads(cli("task", "show", "T-1", "--json").stdout)
    assert (shown["state"], shown["approval"], shown["branch"]) == ("in_review", 1, "feature/mul")

    # Rejected: back to work. The coordinator gets TASK-REVIEW-1, which names no task; its agent's
    # answers move T-1, CodeAgency's only task in hand, back into review.
    assert cli("reject", "1", "--feedback", "Remove the unused helper").returncode == 0
    wait_for(lambda: events(cli, "T-1")[-1] == ("COMPLETE", "in_review"), timeout=60)
    assert events(cli, "T-1")[4:] == [("deploy", "in_review"), ("rejected", "working"), ("COMPLETE", "in_review")]
    assert json.loads(cli("task", "show", "T-1", "--json").stdout)["rejections"] == 1

    # Deployed again and approved: T-1 completes, and T-2, now ready, goes out and through.
    assert cli("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    assert cli("approve", "1").returncode == 0
    assert events(cli, "T-1")[-1] == ("approved", "completed")
    wait_for(lambda: events(cli, "T-2")[-1] == ("COMPLETE", "in_review"), timeout=60)
    assert [e for e, _ in events(cli, "T-2")] == ["added", "assigned", "STATUS", "COMPLETE"]

    # The metrics saw it all.
    report = json.loads(cli("metrics", "--agency", "CodeAgency", "--json").stdout)
    totals = report["totals"]
    assert (totals["tasks"]["finished"], totals["tasks"]["completed_first_time"]) == (1, 0)  # T-1, rejected once
    assert totals["tasks"]["completion_rate"] == 0.0
    assert (totals["reviews"]["reviewed"], totals["reviews"]["approved_first"]) == (1, 0)
    assert totals["response_time_s"]["count"] == 2 and totals["response_time_s"]["median"] > 0
    assert totals["quality"]["deploys"] == 2 and totals["quality"]["tests_passed"] == 6
    assert report["agencies"][0]["lessons"]["count"] == 1
    assert "Remove the unused helper" in report["agencies"][0]["lessons"]["recent"][0]["text"]
    text = cli("metrics").stdout
    assert "first-review approval" in text and "CodeAgency" in text and "Lessons" in text


def test_a_running_agency_is_chosen_over_one_that_is_not(shop_team: Cli, ws: Workspace) -> None:
    cli = shop_team
    folder = ws.agencies_dir / "BackendShop"
    folder.mkdir()
    (folder / "agency.json").write_text(
        json.dumps({"name": "BackendShop", "capabilities": ["backend"], "coordinator": {"name": "boss"}})
    )
    assert cli("task", "add", "Warm-up", "--agency", "CodeAgency").returncode == 0
    out = cli("task", "add", "Orders endpoint", "--needs", "backend")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == (
        "chose CodeAgency: has backend; running (BackendShop not); 1 open task vs 0 (BackendShop); no reviews yet"
    )
    caps = {c["name"]: c for c in json.loads(cli("capabilities", "--json").stdout)}
    assert (caps["CodeAgency"]["status"], caps["BackendShop"]["status"]) == ("running", "not running")


def test_a_send_that_moves_a_task_stays_lean(shop_team: Cli, ws: Workspace) -> None:
    """The traffic hook runs inside `send`, the hottest path: no pydantic, TinyDB or Textual."""
    cli = shop_team
    assert cli("task", "add", "Lean", "--agency", "CodeAgency").returncode == 0
    wait_for(lambda: events(cli, "T-1")[-1][0] == "COMPLETE", timeout=60)
    # T-2 waits for T-1 (in review), so it is not sent: only the probe's message moves it.
    assert cli("task", "add", "Second", "--agency", "CodeAgency", "--after", "T-1").returncode == 0
    probe = (
        "import sys; from tmux_agency.cli import main; "
        "rc = main(['send', 'coordinator', 'BLOCKED python-agent: T-2 needs a decision']); "
        "print(rc, sorted(m for m in ('textual', 'pydantic', 'tinydb', 'libtmux') if m in sys.modules))"
    )
    env = {
        **os.environ,
        "TMUX_AGENCY_HOME": str(ws.root),
        "TMUX_AGENCY_SOCKET": cli.socket or "",
        "TMUX_AGENCY_AGENCY": "CodeAgency",
        "TMUX_AGENCY_AGENT": "python-agent",
    }
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr
    assert events(cli, "T-2")[-1] == ("BLOCKED", "blocked")


def test_a_task_waiting_for_an_agency_is_sent_once_the_agency_starts(cli: Cli, server: Server) -> None:
    added = json.loads(cli("task", "add", "Write the changelog", "--agency", "DocsAgency", "--json").stdout)
    assert added["state"] == "submitted" and not added.get("assigned_at"), "nobody to send it to yet"
    assert cli("create", "DocsAgency", "--agents", "tech-writer").returncode == 0

    def coordinator_got_it() -> bool:
        inbox = json.loads(cli("inbox", "DocsAgency", "docs-coordinator", "--json").stdout)
        return any(m["body"].startswith(f"TASK-{added['id']}: Write the changelog") for m in inbox)

    wait_for(coordinator_got_it)
    assert json.loads(cli("task", "show", added["id"], "--json").stdout)["assigned_at"]
