"""Delivery under attack and under crashes, on a real tmux server with real scripted agents:
text stays text, nothing ever reaches a shell, and no message arrives twice."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from libtmux import Server

from tmux_agency.doors.processes import ProcessTable
from tmux_agency.doors.tmux import Tmux
from tmux_agency.services.bus import Bus, new_message
from tmux_agency.services.delivery import Claim, _write_claim, pane_lock, visible_text

from .helpers import Cli, wait_for
from .test_bus import inbox, kill_program, pane_of, received, status

CONTROL = ["\x03", "\x04", "\x1a", "\x1c", "\x1b[201~"]


@pytest.fixture
def transcripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "transcripts"
    monkeypatch.setenv("TMUX_AGENCY_AGENT_TRANSCRIPT", str(folder))
    monkeypatch.setenv("TMUX_AGENCY_AGENT_PACE", "30")  # listeners: they do not answer TASKs in a test
    return folder


@pytest.fixture
def team(cli: Cli, transcripts: Path) -> Cli:
    assert cli("create", "Dev", "--agents", "py,js").returncode == 0
    return cli


def pane_pid(server: Server, pane_id: str) -> int:
    return int(server.cmd("display-message", "-p", "-t", pane_id, "#{pane_pid}").stdout[0])


def run_state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rfind(")") + 2]


def agent_state(cli: Cli, agent: str) -> str:
    return next(a["state"] for a in status(cli, "Dev")["agents"] if a["name"] == agent)


def coordinator(cli: Cli) -> str:
    return next(a["name"] for a in status(cli, "Dev")["agents"] if a["coordinator"])


# --- text is text ----------------------------------------------------------------------------------


def test_visible_text_shows_every_control_character_and_keeps_the_rest() -> None:
    assert visible_text("a\x03b\x04c\x1ad\x1ce\x1b[201~f\x7f") == "a␃b␄c␚d␜e␛[201~f␡"
    assert visible_text("one\r\ntwo\rthree\tfour\n") == "one\ntwo\nthree\tfour\n"
    assert visible_text("csi\x9b31m") == "csi␛[31m", "an 8-bit CSI is an escape too"
    assert visible_text("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert visible_text("héllo 日本語 🚀") == "héllo 日本語 🚀"
    shown = visible_text("".join(map(chr, range(0x100))))
    assert not any(ord(ch) < 0x20 and ch not in "\t\n" or 0x7F <= ord(ch) < 0xA0 for ch in shown)


def test_control_characters_in_a_send_neither_stop_the_agent_nor_reach_a_shell(
    team: Cli, transcripts: Path, server: Server, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    pid = pane_pid(server, pane_of(team, "Dev", "py"))
    texts = [f"before{ch}after; touch {marker}" for ch in CONTROL]
    for text in texts:
        result = team("send", "Dev", "py", text)
        assert result.returncode == 0 and result.stdout.startswith("delivered"), result.stdout + result.stderr
    # Before: a ^Z stopped the agent and this next message ran in the shell behind it.
    follow_up = team("send", "Dev", "py", f"touch {marker}")
    assert follow_up.stdout.startswith("delivered")
    got = wait_for(lambda: (r := received(transcripts, "Dev", "py")) and len(r) == len(texts) + 1 and r)
    assert got[:-1] == [visible_text(t) for t in texts]
    assert got[0] == f"before␃after; touch {marker}"
    assert got[4] == f"before␛[201~after; touch {marker}", "the paste was not ended early: one input"
    assert got[-1] == f"touch {marker}"
    assert not marker.exists()
    assert run_state(pid) not in "TZ" and pane_pid(server, pane_of(team, "Dev", "py")) == pid
    assert agent_state(team, "py") == "running"


def test_control_characters_in_a_task_title_reach_the_coordinator_as_text(
    team: Cli, transcripts: Path, server: Server
) -> None:
    lead = coordinator(team)
    pid = pane_pid(server, pane_of(team, "Dev", lead))
    result = team("task", "add", "fix\x1athe\x03thing\x1b[201~now", "--agency", "Dev")
    assert result.returncode == 0, result.stderr
    task = wait_for(lambda: [t for t in received(transcripts, "Dev", lead) if "TASK" in t])[0]
    assert "fix␚the␃thing␛[201~now" in task
    assert run_state(pid) not in "TZ" and agent_state(team, lead) == "running"


def test_control_characters_in_a_reject_feedback_reach_the_coordinator_as_text(lab: Cli, server: Server) -> None:
    from .sandbox_fixtures import coordinator_received
    from .test_sandbox import PLAIN_TESTS

    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    pid = pane_pid(server, next(a["pane_id"] for a in status(lab, "CodeAgency")["agents"] if a["coordinator"]))
    result = lab("reject", "1", "--feedback", "stop\x1aand\x03quit\x1c\x04 now")
    assert result.returncode == 0, result.stderr
    task = wait_for(lambda: [t for t in coordinator_received(lab) if t.startswith("TASK-REVIEW-1")])[0]
    assert "stop␚and␃quit" in task and "␄ now" in task  # (\x1c is whitespace to Python: a space)
    assert run_state(pid) not in "TZ"


# --- never into a shell ----------------------------------------------------------------------------


def test_typing_happens_only_while_the_pane_runs_the_process_that_was_judged(server: Server, tmp_path: Path) -> None:
    tmux = Tmux(server.socket_name)
    pane = tmux.new_session("T", "w", str(tmp_path), {}, ["/bin/sh", "-c", "tmux set -p remain-on-exit on; exec cat"])
    wait_for(lambda: "cat" in Path(f"/proc/{pane_pid(server, pane)}/cmdline").read_text())
    pid = pane_pid(server, pane)
    assert tmux.paste_if_alive(pane, pid + 1, "not for you", submit=("Enter",)) is None
    assert tmux.press_if_alive(pane, pid + 1) is None
    assert tmux.paste_if_alive(pane, pid, "for cat", submit=("Enter",)) is not None
    wait_for(lambda: tmux.capture(pane).count("for cat") == 2)  # cat's echo and its answer
    assert "not for you" not in tmux.capture(pane)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: tmux.pane_process(pane)[1])  # dead, and kept: remain-on-exit
    assert tmux.paste_if_alive(pane, pid, "too late", submit=("Enter",)) is None
    assert "too late" not in tmux.capture(pane)
    assert server.cmd("list-buffers").stdout == [], "a refused paste leaves no buffer behind"


def test_an_agent_pane_has_no_shell_behind_its_program(team: Cli, server: Server, tmp_path: Path) -> None:
    pane = pane_of(team, "Dev", "js")
    kill_program(server, pane, signal.SIGKILL)
    wait_for(lambda: agent_state(team, "js") == "down")
    # What an attacker would type by hand goes nowhere: the pane is dead, with its last screen.
    marker = tmp_path / "typed"
    server.cmd("send-keys", "-t", pane, f"touch {marker}", "Enter")
    assert not marker.exists()
    dead = server.cmd("display-message", "-p", "-t", pane, "#{pane_dead}").stdout[0]
    assert dead == "1"
    assert "briefing received" in "\n".join(server.cmd("capture-pane", "-p", "-t", pane).stdout), (
        "its last screen stays"
    )
    restored = team("restore")
    assert restored.returncode == 0, restored.stderr
    assert pane_of(team, "Dev", "js") == pane, "the same pane runs the program again"
    assert agent_state(team, "js") == "running"


def test_a_stopped_or_zombie_program_is_not_running() -> None:
    """(An agent's own pane process cannot stay stopped: tmux sends SIGCONT to a pane process
    that stops. A program below a pane's shell can, as in panes made before agents ran alone.)"""
    from tmux_agency.doors.processes import ProcessTable
    from tmux_agency.services.programs import ProgramProfile, program_running

    profile = ProgramProfile(name="sleeper", command="sleeper", process=r"tmux-agency-sleeper")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "tmux-agency-sleeper"])
    try:
        wait_for(lambda: program_running(profile, sleeper.pid, ProcessTable.snapshot()))
        os.kill(sleeper.pid, signal.SIGSTOP)
        wait_for(lambda: run_state(sleeper.pid) == "T")
        assert not program_running(profile, sleeper.pid, ProcessTable.snapshot())
        assert not program_running(profile, sleeper.pid, ProcessTable(processes_from_ps()))
        os.kill(sleeper.pid, signal.SIGCONT)
        wait_for(lambda: program_running(profile, sleeper.pid, ProcessTable.snapshot()))
        sleeper.kill()
        wait_for(lambda: run_state(sleeper.pid) == "Z")  # not reaped yet: a zombie
        assert not program_running(profile, sleeper.pid, ProcessTable.snapshot())
    finally:
        sleeper.kill()
        sleeper.wait()


def processes_from_ps() -> list:
    from tmux_agency.doors.processes import _ps

    return _ps()


def test_an_agent_killed_at_random_moments_never_lets_a_text_reach_a_shell(
    team: Cli, transcripts: Path, server: Server, tmp_path: Path
) -> None:
    rng = random.Random(13)
    ran = tmp_path / "ran"
    ran.mkdir()
    pane = pane_of(team, "Dev", "js")
    texts = []
    for n in range(54):
        text = f"STATUS m{n}; touch {ran}/m{n}"
        texts.append(text)
        killer = None
        if n % 3 == 0:  # a third of the sends race an agent being killed
            killer = threading.Timer(rng.uniform(0.0, 0.06), kill_program, (server, pane, signal.SIGKILL))
            killer.start()
        assert team("send", "Dev", "js", text).returncode == 0
        if killer is not None:
            killer.join()
            assert team("restore").returncode == 0  # the agent again, and what waited for it
    assert team("deliver").returncode == 0
    assert list(ran.iterdir()) == [], "a message text ran as a command"
    states = {m["body"]: m["state"] for m in inbox(team, "Dev", "js")}
    got = received(transcripts, "Dev", "js")
    for text in texts:
        assert got.count(text) <= 1, f"{text!r} arrived twice"
        if states[text] == "queued":
            assert got.count(text) == 0
    assert sum(1 for t in texts if states[t] == "queued") == 0, "every message went out after restore"


# --- exactly once ----------------------------------------------------------------------------------


def test_a_claim_left_by_a_killed_deliverer_is_settled_from_the_pane_and_never_retyped(
    team: Cli, transcripts: Path, server: Server
) -> None:
    tmux = Tmux(server.socket_name)
    bus = Bus(team.workspace, tmux)
    pane = pane_of(team, "Dev", "py")
    typed = new_message(
        "intra", "STATUS", (None, "human"), ("Dev", "py"), "STATUS typed just before its deliverer died"
    )
    never = new_message("intra", "STATUS", (None, "human"), ("Dev", "py"), "STATUS claimed, then its deliverer died")
    offsets = bus._persist([typed, never])
    # The first deliverer typed its message and was killed before it recorded the delivery.
    assert tmux.paste_if_alive(pane, pane_pid(server, pane), typed["body"], submit=("Enter",)) is not None
    wait_for(lambda: received(transcripts, "Dev", "py") == [typed["body"]])
    with pane_lock(bus.lock_dir, tmux.socket_name, pane) as claim:
        _write_claim(claim, Claim(typed["id"], offsets[0], typed["body"]))
    assert bus.catch_up(grace_s=0) == 2
    # The claim is settled from the pane (it shows the text): recorded delivered, not typed
    # again, so this deliver only types the other one.
    assert [(m["id"], m["state"]) for m in bus.deliver()] == [(never["id"], "delivered")]
    # The second deliverer claimed its message and was killed before typing a thing.
    third = new_message("intra", "STATUS", (None, "human"), ("Dev", "py"), "STATUS the pane never showed this")
    [offset] = bus._persist([third])
    with pane_lock(bus.lock_dir, tmux.socket_name, pane) as claim:
        _write_claim(claim, Claim(third["id"], offset, third["body"]))
    assert bus.catch_up(grace_s=0) == 1
    # The claim is settled before anything is typed: the pane does not show the text, so it is
    # uncertain, and this deliverer leaves it alone.
    assert bus.deliver() == []
    assert bus.deliver() == [] and bus.catch_up(grace_s=0) == 0
    got = received(transcripts, "Dev", "py")
    assert got.count(typed["body"]) == 1 and got.count(never["body"]) == 1 and third["body"] not in got
    states = {m["id"]: (m["state"], m["reason"]) for m in inbox(team, "Dev", "py")}
    assert states[typed["id"]][0] == "delivered"
    assert states[third["id"]][0] == "uncertain" and "not typed again" in states[third["id"]][1]
    shown = team("inbox", "Dev", "py")
    assert "uncertain" in shown.stdout


def test_senders_killed_halfway_leave_each_message_in_the_pane_once(
    team: Cli, transcripts: Path, server: Server
) -> None:
    rng = random.Random(7)
    env = {**os.environ, "TMUX_AGENCY_HOME": str(team.workspace.root), "TMUX_AGENCY_SOCKET": server.socket_name}
    for n in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tmux_agency", "send", "Dev", "py", f"STATUS k{n} from a sender killed halfway"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        threading.Timer(rng.uniform(0.03, 0.12), proc.kill).start()
        proc.wait()
    bus = Bus(team.workspace, Tmux(server.socket_name))
    bus.catch_up(grace_s=0)
    bus.deliver()
    sent = {m["body"]: m["state"] for m in inbox(team, "Dev", "py")}
    got = received(transcripts, "Dev", "py")
    for body, state in sent.items():
        assert state != "queued", f"{body!r} still waits with its agent up"
        if state in ("delivered", "acknowledged"):
            wait_for(lambda body=body: received(transcripts, "Dev", "py").count(body) == 1)
        assert got.count(body) <= 1, f"{body!r} arrived twice"
    assert bus.deliver() == []


def test_eight_concurrent_deliverers_type_each_message_once_and_their_counts_add_up(
    team: Cli, transcripts: Path, server: Server
) -> None:
    from tmux_agency.services.agencies import agent_argv, pane_environment

    tmux = Tmux(server.socket_name)
    bus = Bus(team.workspace, tmux)
    pane = pane_of(team, "Dev", "js")
    kill_program(server, pane)
    wait_for(lambda: agent_state(team, "js") == "down")
    texts = [f"STATUS q{n:03}" for n in range(100)]
    for text in texts:
        assert bus.send("Dev", "js", text, sender=(None, "human")).messages[0]["state"] == "queued"
    # The agent comes back without anyone delivering (restore would deliver at once).
    program = next(a["program"] for a in status(team, "Dev")["agents"] if a["name"] == "js")
    env = pane_environment(team.workspace, tmux, "Dev", "js")
    tmux.respawn_pane(pane, str(team.workspace.project_dir()), env, agent_argv(program, env["PATH"]))
    wait_for(lambda: "ready ›" in tmux.capture(pane))
    cmd = [sys.executable, "-m", "tmux_agency", "deliver"]
    full_env = {**os.environ, "TMUX_AGENCY_HOME": str(team.workspace.root), "TMUX_AGENCY_SOCKET": server.socket_name}
    procs = [
        subprocess.Popen(cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    counts = []
    for out, err in outputs:
        match = re.match(r"delivered (\d+), still queued (\d+)", out)
        assert match, (out, err)
        counts.append(int(match.group(1)))
    assert sum(counts) == 100, counts
    got = wait_for(lambda: (r := received(transcripts, "Dev", "js")) and len(r) >= 100 and r)
    assert got == texts, "each once, in order"


# --- read-only commands never write ----------------------------------------------------------------


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_read_only_commands_with_a_wrong_socket_change_no_file(team: Cli, tmp_path: Path) -> None:
    assert team("send", "Dev", "py", "STATUS before").returncode == 0
    before = tree_bytes(team.workspace.registry_dir)
    wrong = ["--socket", "tmux-agency-no-such-socket"]
    for args in (["list"], ["status"], ["inbox", "Dev"], ["log"], ["approvals"], ["metrics"], ["task", "list"]):
        result = team(*wrong, *args)
        assert result.returncode == 0, (args, result.stderr)
    listed = team(*wrong, "list", "--json")
    assert json.loads(listed.stdout)[0]["status"] == "stopped", "it reports what it sees"
    snapshot = team(*wrong, "tui", "--snapshot", str(tmp_path / "room.svg"))
    assert snapshot.returncode == 0, snapshot.stderr
    assert tree_bytes(team.workspace.registry_dir) == before
    # ... so the agencies are still running for the commands that follow.
    alert = team("broadcast", "Dev", '{"type": "alert", "severity": "low", "message": "still here"}')
    assert alert.returncode == 0 and "delivered" in alert.stdout, alert.stdout + alert.stderr


def test_the_control_room_and_the_cli_show_an_escape_sequence_without_obeying_it(team: Cli) -> None:
    """A message that carries a terminal escape (here: set the window title) must not reach the
    person's terminal through the feed, `inbox` or `log`."""
    from tmux_agency.services.dashboard import FeedRow

    text = "STATUS \x1b]0;owned\x07 and \x1b[2J cleared"
    assert team("send", "Dev", "py", text).returncode == 0
    row = FeedRow.from_message(new_message("intra", "STATUS", (None, "human"), ("Dev", "py"), text))
    assert "\x1b" not in row.text and "␛]0;owned␇" in row.text
    for args in (["inbox", "Dev", "py"], ["log"]):
        shown = team(*args).stdout
        assert "\x1b" not in shown and "\x07" not in shown and "␛[2J cleared" in shown


# --- kill ends everything the agency started -------------------------------------------------------


def test_kill_ends_every_process_of_the_agency_and_drops_what_waited_for_it(
    team: Cli, transcripts: Path, server: Server, tmp_path: Path
) -> None:
    """An agent program that leaves a server running in the background (as Codex leaves
    `codex app-server`) does not outlive `kill`; messages queued for the killed agency are
    dropped, never handed to a new agency of the same name."""
    pane = pane_of(team, "Dev", "js")
    pid = pane_pid(server, pane)
    kill_program(server, pane)  # js goes down, so the next message waits for it
    wait_for(lambda: agent_state(team, "js") == "down")
    assert team("send", "Dev", "js", "TASK-9: for the old js").stdout.startswith("queued")
    sleeper = subprocess.Popen(["sleep", "300"])  # a stand-in for a server the agency's tools window left
    # A background process that ignores the hang-up kill-session sends, as a daemon would.
    server.cmd(
        "send-keys", "-t", "=Dev:tools", f"nohup sleep 300 >/dev/null 2>&1 & echo $! > {tmp_path}/bg.pid", "Enter"
    )
    bg = int(wait_for(lambda: (tmp_path / "bg.pid").exists() and (tmp_path / "bg.pid").read_text().strip()))
    # One that left the pane's process tree (as Codex's app-server does), while a program of its
    # name runs outside the agency with the same HOME: it may be serving that one, so it stays.
    shared = detached_sleep(server, tmp_path / "shared.pid")
    killed = team("kill", "Dev")
    assert killed.returncode == 0 and "1 queued message(s) dropped" in killed.stdout, killed.stdout
    assert f"left running, shared with other programs of the same name: pid {shared}" in killed.stdout
    wait_for(lambda: not Path(f"/proc/{bg}").exists() or run_state(bg) == "Z")
    assert Path(f"/proc/{sleeper.pid}").exists(), "a process outside the agency is left alone"
    assert Path(f"/proc/{shared}").exists() and run_state(shared) != "Z"
    os.kill(shared, signal.SIGKILL)
    sleeper.kill()
    sleeper.wait()
    assert not Path(f"/proc/{pid}").exists() or run_state(pid) == "Z"
    # A new agency of the same name does not receive what waited for the old one.
    assert team("create", "Dev", "--agents", "py,js").returncode == 0
    assert team("deliver").stdout.startswith("delivered 0")
    assert "TASK-9: for the old js" not in received(transcripts, "Dev", "js")
    dropped = [m for m in inbox(team, "Dev", "js") if m["body"] == "TASK-9: for the old js"]
    assert [m["state"] for m in dropped] == ["dropped"]


def detached_sleep(server: Server, pid_file: Path) -> int:
    """A `sleep` started from the Dev agency's tools window that leaves its process tree (a new
    session, its parent gone), as a program's background server does."""
    server.cmd("send-keys", "-t", "=Dev:tools", f"(setsid sleep 307 >/dev/null 2>&1 & echo $! > {pid_file})", "Enter")
    return int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip()))


def test_kill_ends_a_background_server_that_left_the_panes_process_tree(
    team: Cli, server: Server, tmp_path: Path
) -> None:
    detached = detached_sleep(server, tmp_path / "detached.pid")
    assert detached not in [p.pid for p in ProcessTable.snapshot().tree(pane_pid(server, pane_of(team, "Dev", "py")))]
    killed = team("kill", "Dev")
    assert killed.returncode == 0 and "left running" not in killed.stdout, killed.stdout
    wait_for(lambda: not Path(f"/proc/{detached}").exists() or run_state(detached) == "Z")
