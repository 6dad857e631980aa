"""Scheduled check-ins: kept in the registry across restarts, sent once when due (however many
dispatchers run), repeated, cancelled; bad input changes nothing. Time is injected, never slept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from libtmux import Server

from tmux_agency.doors.registry import AGENCIES, Registry
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.errors import UsageError
from tmux_agency.models.schema import AgencyRecord, AgencySpec, AgentRecord, AgentSpec
from tmux_agency.services import schedule
from tmux_agency.services.bus import Bus
from tmux_agency.services.records import save_record

from .helpers import Cli, registry_bytes, wait_for

T0 = datetime(2025, 1, 14, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def ghosts(workspace: Workspace) -> Workspace:
    """A registered agency whose agents have no panes: everything sent to it waits in the queue."""
    spec = AgencySpec(name="Ghosts", coordinator=AgentSpec(name="lead"), agents=[AgentSpec(name="ghost")])
    save_record(
        workspace,
        AgencyRecord(
            name="Ghosts",
            session="Ghosts",
            spec=spec,
            agents=[
                AgentRecord(name="lead", window="lead", is_coordinator=True, program="tmux-agency agent"),
                AgentRecord(name="ghost", window="ghost", program="tmux-agency agent"),
            ],
        ),
    )
    return workspace


def offline() -> Tmux:
    return Tmux("tmux-agency-tests-no-such-server")


def stored(ws: Workspace) -> list[dict]:
    """What a fresh reader of registry/schedule.json sees."""
    return Registry(ws.registry_dir).documents(schedule.SCHEDULE)


# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, seconds", [("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("45s", 45), ("1d", 86400), (" 10M ", 600)]
)
def test_durations(text: str, seconds: int) -> None:
    assert schedule.parse_duration(text) == seconds
    assert schedule.parse_duration(schedule.format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["30", "30 minutes", "0m", "m", "-5m", "1.5h", "", "400d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--in"):
        schedule.parse_duration(text, "--in")


# --- the command line: add, list, cancel, bad input ---------------------------------------------


def test_a_check_in_survives_a_restart(ghosts: Workspace, cli_no_tmux: Cli) -> None:
    added = cli_no_tmux("schedule", "--in", "30m", "Ghosts", "STATUS? commit your work now", "--json")
    assert added.returncode == 0, added.stderr
    item = json.loads(added.stdout)
    assert (item["agency"], item["agent"], item["every_s"]) == ("Ghosts", "coordinator", None)
    # A new process, and a fresh reader of the file, see it.
    listed = cli_no_tmux("schedule", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(c["id"], c["text"]) for c in json.loads(listed.stdout)] == [(item["id"], "STATUS? commit your work now")]
    assert [d["id"] for d in stored(ghosts)] == [item["id"]]
    text = cli_no_tmux("schedule", "list")
    assert f"#{item['id']}" in text.stdout and "Ghosts/coordinator" in text.stdout and "once" in text.stdout


def test_cancel(ghosts: Workspace, cli_no_tmux: Cli) -> None:
    first = json.loads(cli_no_tmux("schedule", "--every", "1h", "Ghosts/ghost", "commit now", "--json").stdout)
    second = json.loads(cli_no_tmux("schedule", "--in", "5m", "Ghosts", "stand-up", "--json").stdout)
    result = cli_no_tmux("schedule", "cancel", str(first["id"]))
    assert result.returncode == 0 and f"cancelled check-in #{first['id']}" in result.stdout
    assert [d["id"] for d in stored(ghosts)] == [second["id"]]
    # Ids are never reused: a new check-in cannot be cancelled by an old id.
    cli_no_tmux("schedule", "cancel", str(second["id"]))
    third = json.loads(cli_no_tmux("schedule", "--in", "5m", "Ghosts", "again", "--json").stdout)
    assert third["id"] > second["id"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["schedule", "--in", "30 minutes", "Ghosts", "commit"], "--in '30 minutes'"),
        (["schedule", "--in", "0m", "Ghosts", "commit"], "--in '0m'"),
        (["schedule", "--every", "10s", "Ghosts", "commit"], "at least 1m"),
        (["schedule", "Ghosts", "commit"], "--in DURATION"),
        (["schedule", "--in", "30m", "Nowhere", "commit"], "unknown agency 'Nowhere'"),
        (["schedule", "--in", "30m", "Ghosts/nobody", "commit"], "no agent 'nobody'"),
        (["schedule", "--in", "30m", "Ghosts/bad:name", "commit"], "invalid agent name"),
        (["schedule", "--in", "30m", "Ghosts", "   "], "text is empty"),
        (["schedule", "--in", "30m", "Ghosts"], "TARGET TEXT"),
        (["schedule", "cancel", "99"], "no check-in #99"),
        (["schedule", "cancel", "x"], "check-in id 'x'"),
        (["schedule", "cancel"], "one ID"),
        (["schedule", "list", "extra"], "only --json"),
        (["run", "--now", "2025-01-14T10:00:00+00:00"], "--now goes with --once"),
        (["run", "--once", "--now", "yesterday"], "--now 'yesterday'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    ghosts: Workspace, cli_no_tmux: Cli, args: list[str], needle: str
) -> None:
    cli_no_tmux("schedule", "--in", "1h", "Ghosts", "an existing check-in")
    before = registry_bytes(ghosts)
    result = cli_no_tmux(*args)
    assert result.returncode == 2, result
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert registry_bytes(ghosts) == before


# --- dispatching, with an injected clock ----------------------------------------------------------


def test_a_one_off_check_in_is_sent_once_when_due(ghosts: Workspace) -> None:
    item = schedule.add_checkin(ghosts, "Ghosts/ghost", "TASK-9: look at the logs", in_s=1800, now=T0)
    assert schedule.dispatch_due(ghosts, offline(), T0 + timedelta(minutes=29)) == []
    assert schedule.due_checkins(ghosts, T0 + timedelta(minutes=30)) == [item]

    sent = schedule.dispatch_due(ghosts, offline(), T0 + timedelta(minutes=30))
    assert [(r["id"], r["state"]) for r in sent] == [(item.id, "queued")]  # the agent has no pane
    assert stored(ghosts) == []
    assert schedule.dispatch_due(ghosts, offline(), T0 + timedelta(hours=5)) == []
    queued = Bus(ghosts, offline()).queued("Ghosts", "ghost")
    assert [(m["id"], m["sender_agent"], m["type"], m["body"]) for m in queued] == [
        (sent[0]["message_id"], "scheduler", "TASK", "TASK-9: look at the logs")
    ]


def test_a_repeating_check_in_keeps_its_rhythm_and_never_piles_up(ghosts: Workspace) -> None:
    item = schedule.add_checkin(ghosts, "Ghosts", "commit your work now", every_s=1800, now=T0)
    assert item.due == T0 + timedelta(minutes=30)
    assert schedule.dispatch_due(ghosts, offline(), T0 + timedelta(minutes=29)) == []

    first = schedule.dispatch_due(ghosts, offline(), T0 + timedelta(minutes=31))
    assert [r["state"] for r in first] == ["queued"]
    [row] = stored(ghosts)
    assert (row["due"], row["sent"], row["last_message_id"]) == (
        (T0 + timedelta(minutes=60)).isoformat(),
        1,
        first[0]["message_id"],
    )
    assert schedule.dispatch_due(ghosts, offline(), T0 + timedelta(minutes=45)) == []

    # Its agent is still down: the last reminder still waits, so this one is not added to it.
    again = schedule.dispatch_due(ghosts, offline(), T0 + timedelta(minutes=61))
    assert [r["state"] for r in again] == ["skipped"]
    assert len(Bus(ghosts, offline()).queued("Ghosts")) == 1

    # A dispatcher that was away for hours sends one, and the next keeps the half-hour rhythm.
    Registry(ghosts.registry_dir).path("message_queue.json").unlink()  # as if it had been delivered
    late = schedule.dispatch_due(ghosts, offline(), T0 + timedelta(hours=5, minutes=10))
    assert [r["state"] for r in late] == ["queued"]
    [row] = stored(ghosts)
    assert row["due"] == (T0 + timedelta(hours=5, minutes=30)).isoformat() and row["sent"] == 3


def test_a_check_in_for_an_agency_that_is_gone_fails_without_stopping_the_others(ghosts: Workspace) -> None:
    schedule.add_checkin(ghosts, "Ghosts", "commit", every_s=1800, now=T0)
    schedule.add_checkin(ghosts, "Ghosts/ghost", "once", in_s=60, now=T0)
    # Gone without `kill` (which cancels its check-ins): unregistered behind our back.
    with Registry(ghosts.registry_dir).transaction(AGENCIES) as db:
        db.truncate()
    results = schedule.dispatch_due(ghosts, offline(), T0 + timedelta(hours=1))
    assert [(r["state"], "unknown agency 'Ghosts'" in r["reason"]) for r in results] == [("failed", True)] * 2
    [row] = stored(ghosts)  # the one-off is gone; the repeating one says why it failed
    assert "unknown agency" in row["last_error"]


def test_the_commit_reminder_is_one_per_agency_and_can_be_turned_off(ghosts: Workspace) -> None:
    item = schedule.ensure_commit_reminder(ghosts, "Ghosts", now=T0)
    assert item is not None
    assert (item.agent, item.every_s, item.kind, item.due) == (
        "coordinator",
        1800,
        "commit-reminder",
        T0 + timedelta(minutes=30),
    )
    assert "git add -A && git commit" in item.text
    assert schedule.ensure_commit_reminder(ghosts, "Ghosts", now=T0) is None
    assert len(stored(ghosts)) == 1

    settings = json.loads(ghosts.settings_path.read_text())
    ghosts.settings_path.write_text(json.dumps(settings | {"checkin_minutes": None}))
    schedule.cancel_checkin(ghosts, item.id)
    assert schedule.ensure_commit_reminder(ghosts, "Ghosts", now=T0) is None
    assert stored(ghosts) == []


# --- end to end: a real tmux server, scripted agents, two dispatchers ----------------------------


def test_run_delivers_a_due_check_in_exactly_once_with_two_dispatchers(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    transcripts = tmp_path / "transcripts"
    cli.env["TMUX_AGENCY_AGENT_TRANSCRIPT"] = str(transcripts)
    created = cli("create", "Solo", "--agents", "worker")
    assert created.returncode == 0, created.stderr

    # Every coordinator has its commit reminder from the start.
    [reminder] = json.loads(cli("schedule", "list", "--json").stdout)
    assert (reminder["agency"], reminder["agent"], reminder["kind"], reminder["every_s"]) == (
        "Solo",
        "coordinator",
        "commit-reminder",
        1800,
    )

    added = cli("schedule", "--in", "45m", "Solo/worker", "CHECK-IN: how far is TASK-3?", "--json")
    assert added.returncode == 0, added.stderr
    item = json.loads(added.stdout)
    due = datetime.fromisoformat(item["due"])

    # Nothing is due yet (the reminder comes first, in 30 minutes).
    early = cli("run", "--once", "--now", (datetime.fromisoformat(reminder["due"]) - timedelta(minutes=1)).isoformat())
    assert early.returncode == 0, early.stderr
    assert "check-in" not in early.stdout

    # Two dispatchers at once, after the due time, each a new process reading the registry.
    env = {**os.environ, **cli.env, "TMUX_AGENCY_HOME": str(cli.workspace.root), "TMUX_AGENCY_SOCKET": cli.socket or ""}
    argv = [sys.executable, "-m", "tmux_agency", "run", "--once", "--now", (due + timedelta(minutes=1)).isoformat()]
    runs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    lines = [line for out, _ in outputs for line in out.splitlines() if line.startswith("check-in")]
    assert len(lines) == 2, outputs  # one dispatcher claimed each; the other found nothing due
    assert len([line for line in lines if f"#{item['id']} " in line and ": delivered" in line]) == 1
    assert len([line for line in lines if f"#{reminder['id']} " in line and ": delivered" in line]) == 1

    # The history holds each once, from the scheduler, delivered; each agent got its text once.
    history = json.loads(cli("log", "--json").stdout)
    from_scheduler = [
        (m["recipient_agent"], m["body"], m["state"]) for m in history if m["sender_agent"] == "scheduler"
    ]
    assert sorted(from_scheduler) == sorted(
        [
            ("worker", "CHECK-IN: how far is TASK-3?", "delivered"),
            ("solo-coordinator", reminder["text"], "delivered"),
        ]
    )

    def received(agent: str) -> list[str]:
        path = transcripts / f"Solo-{agent}.jsonl"
        return [json.loads(line)["text"] for line in path.read_text().splitlines()] if path.exists() else []

    wait_for(lambda: "CHECK-IN: how far is TASK-3?" in received("worker"))
    assert received("worker").count("CHECK-IN: how far is TASK-3?") == 1
    assert received("solo-coordinator").count(reminder["text"]) == 1

    # The one-off is gone; the reminder waits for its next half hour.
    [left] = json.loads(cli("schedule", "list", "--json").stdout)
    assert left["id"] == reminder["id"] and left["sent"] == 1


def test_killing_an_agency_cancels_its_check_ins_and_creating_it_again_brings_the_reminder_back(
    cli: Cli, server: Server
) -> None:
    assert cli("create", "Lab", "--agents", "worker").returncode == 0
    assert cli("create", "Other", "--agents", "worker").returncode == 0
    assert cli("schedule", "--every", "1h", "Lab/worker", "STATUS hourly: how far?").returncode == 0

    def agencies_scheduled() -> list[tuple[str, str]]:
        return sorted((c["agency"], c["kind"]) for c in json.loads(cli("schedule", "list", "--json").stdout))

    assert agencies_scheduled() == [("Lab", "commit-reminder"), ("Lab", "reminder"), ("Other", "commit-reminder")]
    assert cli("kill", "Lab").returncode == 0
    assert agencies_scheduled() == [("Other", "commit-reminder")], "nothing is left to fail for a killed agency"
    assert cli("create", "Lab", "--agents", "worker").returncode == 0
    assert agencies_scheduled() == [("Lab", "commit-reminder"), ("Other", "commit-reminder")]
