"""The message bus against a real tmux server and real scripted agents."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from libtmux import Server

from tmux_agency.doors.registry import MESSAGES, Registry
from tmux_agency.services.delivery import visible_text

from .helpers import Cli, registry_bytes, wait_for
from .test_agencies import assert_refused, screen, status


@pytest.fixture
def transcripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Scripted agents keep every message they receive, verbatim, in this folder."""
    folder = tmp_path / "transcripts"
    monkeypatch.setenv("TMUX_AGENCY_AGENT_TRANSCRIPT", str(folder))
    # Agents here only listen: a long pace keeps them from answering tasks during a test.
    monkeypatch.setenv("TMUX_AGENCY_AGENT_PACE", "0.2")
    return folder


def received(transcripts: Path, agency: str, agent: str) -> list[str]:
    path = transcripts / f"{agency}-{agent}.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line)["text"] for line in path.read_text().splitlines()]
    return [t for t in lines if not t.startswith("# ")]  # the briefing is not a message


def pane_of(cli: Cli, agency: str, agent: str) -> str:
    view = status(cli, agency)
    return next(a["pane_id"] for a in view["agents"] if a["name"] == agent)


def inbox(cli: Cli, agency: str, agent: str | None = None) -> list[dict]:
    result = cli("inbox", agency, *([agent] if agent else []), "--all", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def team(cli: Cli, transcripts: Path) -> Cli:
    assert cli("create", "Dev", "--agents", "py,js").returncode == 0
    assert cli("create", "QA", "--agents", "tester").returncode == 0
    return cli


# --- sending -------------------------------------------------------------------------------------


def test_send_types_the_text_into_the_named_agent_and_reads_the_type(team: Cli, transcripts: Path) -> None:
    result = team("send", "Dev", "py", "STATUS py: auth module 60% complete. Need OAuth2 library recommendation.")
    assert result.returncode == 0, result.stderr
    assert "delivered" in result.stdout
    assert received(transcripts, "Dev", "py") == [
        "STATUS py: auth module 60% complete. Need OAuth2 library recommendation."
    ]
    for text, kind in [
        ("TASK-042: Implement OAuth2 using authlib. Ref: docs/auth_spec.md", "TASK"),
        ("QUESTION from py: What API response format are you expecting?", "QUESTION"),
        ("BLOCKED js: waiting on the schema", "BLOCKED"),
        ("COMPLETE js: TASK-7 done", "COMPLETE"),
        ("just a note", "NOTE"),
    ]:
        assert team("send", "Dev", "js", text).returncode == 0
        assert inbox(team, "Dev", "js")[-1]["type"] == kind
    assert team("send", "Dev", "js", "anything at all", "--type", "blocked").returncode == 0
    assert inbox(team, "Dev", "js")[-1]["type"] == "BLOCKED"


def test_coordinator_names_the_coordinator_and_a_pane_knows_its_sender(team: Cli, transcripts: Path) -> None:
    pane_env = {"TMUX_AGENCY_AGENCY": "Dev", "TMUX_AGENCY_AGENT": "py"}
    result = team("send", "coordinator", "STATUS py: halfway", env=pane_env)
    assert result.returncode == 0, result.stderr
    assert received(transcripts, "Dev", "dev-coordinator") == ["STATUS py: halfway"]
    message = inbox(team, "Dev", "dev-coordinator")[-1]
    assert (message["sender_agency"], message["sender_agent"], message["recipient_agent"]) == (
        "Dev",
        "py",
        "dev-coordinator",
    )
    log = (team.workspace.agency_dir("Dev") / "logs" / "activity.log").read_text()
    assert "Dev/py → Dev/dev-coordinator [STATUS] STATUS py: halfway" in log


SEED_HANDOFF = """{
    "type": "handoff",
    "task": "User Authentication Module",
    "branch": "feature/user-auth",
    "priority": "high",
    "artifacts": ["tests/test_auth.py", "docs/auth_api.md"],
    "notes": "All unit tests passing. Ready for integration testing."
  }"""
SEED_RESULTS = """{
    "type": "results",
    "task": "User Authentication Module",
    "status": "issues_found",
    "bugs": 3,
    "report": "tests/qa_report_20251028.md",
    "severity": "medium"
  }"""
SEED_ALERT = """{
    "type": "alert",
    "severity": "high",
    "message": "Production deployment scheduled for 15:00. All work must be committed.",
    "action_required": "Commit all work and update status by 14:30"
  }"""


def test_the_seeds_inter_agency_messages_pass_as_written(team: Cli, transcripts: Path) -> None:
    assert team("send-inter", "Dev", "QA", SEED_HANDOFF).returncode == 0
    assert team("send-inter", "QA", "Dev", SEED_RESULTS).returncode == 0
    assert (
        team(
            "send-inter", "QA", "Dev", '{"type": "results", "task": "FEAT-123", "status": "issues_found", "count": 2}'
        ).returncode
        == 0
    )
    handoff = received(transcripts, "QA", "qa-coordinator")[0]
    assert handoff.startswith("[handoff from Dev] ")
    assert json.loads(handoff.split("] ", 1)[1])["branch"] == "feature/user-auth"
    assert received(transcripts, "Dev", "dev-coordinator")[0].startswith("[results from QA] ")
    logged = json.loads(team("log", "--type", "handoff", "--json").stdout)
    assert [(m["sender_agency"], m["recipient_agency"], m["payload"]["task"]) for m in logged] == [
        ("Dev", "QA", "User Authentication Module")
    ]


def test_a_broadcast_reaches_every_running_coordinator(team: Cli, transcripts: Path) -> None:
    result = team("broadcast", "MetaOrchestrator", SEED_ALERT)
    assert result.returncode == 0, result.stderr
    for agency, coordinator in (("Dev", "dev-coordinator"), ("QA", "qa-coordinator")):
        texts = received(transcripts, agency, coordinator)
        assert len(texts) == 1 and texts[0].startswith("[broadcast from MetaOrchestrator] ")


def test_states_go_queued_delivered_acknowledged(team: Cli, transcripts: Path) -> None:
    assert team("send", "Dev", "js", "QUESTION from py: which format?").returncode == 0
    assert inbox(team, "Dev", "js")[-1]["state"] == "delivered"
    # js answers: what was delivered to it counts as acknowledged.
    assert (
        team(
            "send", "py", "STATUS js: JSON, please", env={"TMUX_AGENCY_AGENCY": "Dev", "TMUX_AGENCY_AGENT": "js"}
        ).returncode
        == 0
    )
    question = inbox(team, "Dev", "js")[-1]
    assert question["state"] == "acknowledged" and question["acknowledged_at"]


# --- the hash chain ------------------------------------------------------------------------------


def test_log_verify_names_the_first_altered_record(team: Cli) -> None:
    for n in range(5):
        assert team("send", "Dev", "py", f"STATUS note {n}").returncode == 0
    ok = team("log", "--verify")
    assert ok.returncode == 0 and "hash chain verified" in ok.stdout
    path = team.workspace.registry_dir / "messages.jsonl"
    lines = path.read_text().splitlines()
    third = next(i for i, line in enumerate(lines) if "STATUS note 2" in line)
    seq = json.loads(lines[third])["seq"]
    lines[third] = lines[third].replace("STATUS note 2", "STATUS note 2 (edited)")
    path.write_text("\n".join(lines) + "\n")
    bad = team("log", "--verify")
    assert bad.returncode == 1
    assert f"event {seq} was altered" in bad.stderr
    del lines[third]
    path.write_text("\n".join(lines) + "\n")
    gone = team("log", "--verify")
    assert gone.returncode == 1 and f"event {seq + 1} does not follow" in gone.stderr


# --- hostile text ----------------------------------------------------------------------------------


HOSTILE = [
    "Enter",
    "C-c",
    "C-d",
    "Escape",
    "$(touch {marker})",
    "`touch {marker}`",
    "; touch {marker}; echo",
    "line one\ntouch {marker}\nline three",
    "tab\tand\x1b[31mred\x1b[0m and bell\x07",
    "unicode: héllo 日本語 🚀 — ünïcødé",
    "-t %0 send-keys",
]


def test_hostile_texts_arrive_as_text_and_execute_nothing(
    team: Cli, transcripts: Path, tmp_path: Path, server: Server
) -> None:
    marker = tmp_path / "pwned"
    texts = [t.format(marker=marker) for t in HOSTILE] + ["x" * 100_000 + " end"]
    for text in texts:
        result = team("send", "Dev", "py", text)
        assert result.returncode == 0, (text[:40], result.stderr)
    got = wait_for(lambda: (r := received(transcripts, "Dev", "py")) and len(r) == len(texts) and r)
    # What was sent, in order, its control characters shown as symbols (ESC as ␛, BEL as ␇); the
    # terminal turns a pasted newline into its Enter key (\r), which the agent reads back as one.
    assert got == [visible_text(t) for t in texts]
    assert got[8] == "tab\tand␛[31mred␛[0m and bell␇"
    assert not marker.exists()
    assert status(team, "Dev")["agents"][1]["state"] == "running", "C-c as text did not stop the agent"


# --- agents that are down --------------------------------------------------------------------------


def kill_program(server: Server, pane_id: str, sig: int = signal.SIGTERM) -> None:
    """Stop the agent's program (the pane's own process): the pane stays, dead, showing its
    last screen; no shell takes its place."""
    pid, dead = server.cmd("display-message", "-p", "-t", pane_id, "#{pane_pid} #{pane_dead}").stdout[0].split()
    if dead != "1":  # a dead pane's pid may belong to another process by now
        os.kill(int(pid), sig)


def test_a_message_to_a_dead_agent_waits_and_goes_out_in_order_after_restore(
    team: Cli, transcripts: Path, server: Server, tmp_path: Path
) -> None:
    pane = pane_of(team, "Dev", "js")
    kill_program(server, pane)
    wait_for(lambda: next(a for a in status(team, "Dev")["agents"] if a["name"] == "js")["state"] == "down")

    marker = tmp_path / "ran"
    first = team("send", "Dev", "js", f"TASK-1: touch {marker}")
    assert first.returncode == 0 and "queued" in first.stdout
    assert "the agent's program has exited" in first.stdout
    assert team("send", "Dev", "js", "TASK-2: second").returncode == 0
    assert not marker.exists(), "nothing was typed into the bare shell"
    assert "TASK-1" not in screen(server, pane)
    states = [(m["body"][:6], m["state"]) for m in inbox(team, "Dev", "js")]
    assert states == [("TASK-1", "queued"), ("TASK-2", "queued")]
    assert next(a for a in status(team, "Dev")["agents"] if a["name"] == "js")["queued"] == 2

    restored = team("restore")
    assert restored.returncode == 0, restored.stderr
    assert "delivered 2 queued message(s)" in restored.stdout
    # (TASK-1 keeps the scripted agent busy for a moment; TASK-2 waits in its terminal meanwhile.)
    wait_for(lambda: received(transcripts, "Dev", "js")[-2:] == [f"TASK-1: touch {marker}", "TASK-2: second"])
    assert [m["state"] for m in inbox(team, "Dev", "js")][:2] != ["queued", "queued"]
    again = team("deliver")
    assert "delivered 0" in again.stdout
    assert received(transcripts, "Dev", "js").count("TASK-2: second") == 1


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, needle",
    [
        (["send", "Nowhere", "py", "STATUS x"], "unknown agency 'Nowhere'"),
        (["send", "Dev", "ghost", "STATUS x"], "has no agent 'ghost'"),
        (["send", "Dev", "py", ""], "text is empty"),
        (["send", "Dev", "py", "   \n"], "text is empty"),
        (["send", "Dev", "py", "x", "--type", "SHOUT"], "unknown message type"),
        (["send", "py", "STATUS x"], "inside an agency pane"),
        (["send", "Dev:0", "py", "x"], "invalid agency name"),
        (["send-inter", "Dev", "QA", "{not json"], "not valid JSON"),
        (["send-inter", "Dev", "QA", "[1, 2]"], "must be a JSON object"),
        (["send-inter", "Dev", "QA", '{"type": "handoff"}'], "required field 'task' is missing"),
        (["send-inter", "Dev", "QA", '{"task": "x"}'], "required field 'type' is missing"),
        (["send-inter", "Dev", "QA", '{"type": "handoff", "task": "T", "priority": "urgent"}'], "priority"),
        (
            ["send-inter", "Nowhere", "QA", '{"type": "alert", "severity": "high", "message": "m"}'],
            "unknown agency 'Nowhere'",
        ),
        (
            ["send-inter", "Dev", "Nowhere", '{"type": "alert", "severity": "high", "message": "m"}'],
            "unknown agency 'Nowhere'",
        ),
        (["broadcast", "Meta", '{"type": "alert"}'], "required field 'severity' is missing"),
        (["inbox", "Nowhere"], "unknown agency"),
    ],
)
def test_bad_messages_are_refused_and_change_nothing(team: Cli, args: list[str], needle: str) -> None:
    before = registry_bytes(team.workspace)
    assert_refused(team(*args), 2, needle)
    assert registry_bytes(team.workspace) == before


def test_the_queue_file_stays_small_when_agents_are_up(team: Cli) -> None:
    for n in range(10):
        assert team("send", "Dev", "py", f"STATUS {n}").returncode == 0
    assert Registry(team.workspace.registry_dir).snapshot(MESSAGES).all() == []


def test_a_message_whose_sender_died_before_delivering_is_found_and_delivered_once(
    team: Cli, transcripts: Path, server: Server
) -> None:
    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.services.bus import Bus, new_message

    bus = Bus(team.workspace, Tmux(server.socket_name))
    orphan = new_message("intra", "STATUS", (None, "human"), ("Dev", "py"), "STATUS sent by a sender that died")
    bus._persist([orphan])  # persisted, then the sender was killed before it typed anything
    assert bus.catch_up() == 0, "a young message is left to its sender for a while"
    assert bus.catch_up(grace_s=0) == 1
    assert [m["id"] for m in bus.queued("Dev", "py")] == [orphan["id"]]
    assert [m["state"] for m in bus.deliver()] == ["delivered"]
    assert bus.deliver() == [] and bus.catch_up(grace_s=0) == 0
    wait_for(lambda: received(transcripts, "Dev", "py") == ["STATUS sent by a sender that died"])


def test_a_left_message_stamped_by_a_clock_far_ahead_is_not_waited_for(tmp_path: Path) -> None:
    """The sweep leaves a message a few seconds to its sender; one stamped an hour ahead (a wrong
    clock) would otherwise hold the sweep's checkpoint, and be waited for, for an hour."""
    from datetime import datetime, timedelta, timezone

    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.doors.workspace import init_workspace
    from tmux_agency.services.bus import Bus, new_message

    project = tmp_path / "project"
    project.mkdir()
    ws, _ = init_workspace(tmp_path / "ws", project)
    bus = Bus(ws, Tmux("tmux-agency-tests-no-such-server"))
    ahead = new_message(
        "intra",
        "STATUS",
        (None, "human"),
        ("Dev", "py"),
        "STATUS from a clock an hour fast",
        at=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    young = new_message("intra", "STATUS", (None, "human"), ("Dev", "py"), "STATUS still in its sender's hands")
    bus._persist([ahead, young])
    assert bus.catch_up() == 1 and [m["id"] for m in bus.queued()] == [ahead["id"]]
    assert bus.catch_up(grace_s=0) == 1, "the young one is judged once its grace is over"


def test_the_sweep_of_a_long_history_queues_exactly_the_undelivered_messages(tmp_path: Path) -> None:
    """A history of 2,000 messages in which about one in ten was never delivered (its sender
    died): one sweep queues each of those once, the next finds nothing new."""
    from tests.sample_registry import populate
    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.doors.workspace import init_workspace
    from tmux_agency.services.bus import HISTORY, Bus

    project = tmp_path / "project"
    project.mkdir()
    ws, _ = init_workspace(tmp_path / "ws", project)
    populate(ws, messages=2_000)
    events, _ = Registry(ws.registry_dir).read_lines(HISTORY)
    delivered = {e["id"] for e in events if e["event"] == "state"}
    undelivered = [
        e["message"]["id"] for e in events if e["event"] == "message" and e["message"]["id"] not in delivered
    ]
    assert 100 < len(undelivered) < 400
    bus = Bus(ws, Tmux("tmux-agency-tests-no-such-server"))
    assert bus.catch_up(grace_s=0) == len(undelivered)
    assert sorted(m["id"] for m in bus.queued()) == sorted(undelivered)
    assert bus.catch_up(grace_s=0) == 0


def test_the_sweep_is_not_fooled_by_a_payload_that_reads_like_a_delivery(tmp_path: Path) -> None:
    """The sweep decides most lines from their bytes without parsing them: a message whose
    payload holds the words of a delivery event (and an id) is still a message nobody delivered."""
    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.doors.workspace import init_workspace
    from tmux_agency.services.bus import Bus, new_message

    project = tmp_path / "project"
    project.mkdir()
    ws, _ = init_workspace(tmp_path / "ws", project)
    bus = Bus(ws, Tmux("tmux-agency-tests-no-such-server"))
    payload = {"type": "alert", "event": "state", "state": "delivered", "id": "m-not-this-one", "note": 'say "id":"x"'}
    tricky = new_message("inter", "alert", ("QAAgency", None), ("CodeAgency", "coordinator"), "", payload)
    plain = new_message("intra", "STATUS", (None, "human"), ("CodeAgency", "py"), 'STATUS "state":"delivered"')
    bus._persist([tricky, plain])
    assert bus.catch_up(grace_s=0) == 2
    assert sorted(m["id"] for m in bus.queued()) == sorted([tricky["id"], plain["id"]])


def test_agent_facing_commands_load_neither_textual_nor_pydantic(team: Cli) -> None:
    """Agents call send constantly: its start-up must stay lean (see bench/bus.py). Nor does
    the plain form load what only the other commands need: a parser, typing, dataclasses,
    TinyDB — each costs milliseconds on every call."""
    import subprocess
    import sys

    heavy = ("textual", "pydantic", "libtmux", "tinydb", "argparse", "typing", "dataclasses")
    probe = (
        "import sys; from tmux_agency.cli import main; rc = main(['send', 'Dev', 'py', 'STATUS probe']); "
        f"print(rc, sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    env = {**os.environ, "TMUX_AGENCY_HOME": str(team.workspace.root), "TMUX_AGENCY_SOCKET": team.socket or ""}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr


def test_log_follow_shows_new_messages_as_they_are_sent(team: Cli) -> None:
    import subprocess
    import sys

    env = {**os.environ, "TMUX_AGENCY_HOME": str(team.workspace.root), "TMUX_AGENCY_SOCKET": team.socket or ""}
    follower = subprocess.Popen(
        [sys.executable, "-m", "tmux_agency", "log", "--follow", "--agency", "Dev"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert team("send", "Dev", "py", "STATUS live one").returncode == 0
        assert team("send", "QA", "tester", "STATUS not for Dev").returncode == 0
        assert team("send", "Dev", "js", "STATUS live two").returncode == 0
        lines = [follower.stdout.readline(), follower.stdout.readline()]
    finally:
        follower.terminate()
        follower.wait(10)
    assert "Dev/py" in lines[0] and "STATUS live one" in lines[0]
    assert "Dev/js" in lines[1] and "STATUS live two" in lines[1]


def test_a_reused_pane_id_after_a_server_restart_never_gets_another_agencys_message(
    cli: Cli, server: Server, transcripts: Path
) -> None:
    """tmux numbers panes from %0 again after a restart: a stale record must not type into them."""
    assert cli("create", "Old", "--agents", "one").returncode == 0
    old_pane = pane_of(cli, "Old", "one")
    server.kill()
    assert cli("create", "New", "--agents", "uno").returncode == 0
    reused = {a["pane_id"] for a in status(cli, "New")["agents"]}
    assert old_pane in reused, "the new server gave the old pane id to another agency"

    result = cli("send", "Old", "one", "STATUS meant for Old only")
    assert result.returncode == 0 and "queued" in result.stdout and "now belongs to session 'New'" in result.stdout
    time.sleep(0.5)
    for agent in ("new-coordinator", "uno"):
        assert "STATUS meant for Old only" not in received(transcripts, "New", agent)
    assert all(a["state"] == "down" for a in status(cli, "Old")["agents"])
