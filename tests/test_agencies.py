"""Agencies in a real tmux server on an isolated socket: create, list, status, kill, restore."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from libtmux import Server

from tmux_agency.doors.registry import AGENCIES, Registry
from tmux_agency.doors.workspace import STARTER_AGENCIES

from .helpers import Cli, registry_bytes, wait_for


def windows(server: Server, session: str) -> list[tuple[int, str]]:
    out = server.cmd("list-windows", "-t", f"={session}", "-F", "#{window_index} #{window_name}").stdout
    return [(int(line.split()[0]), line.split()[1]) for line in out]


def screen(server: Server, pane_id: str) -> str:
    return "\n".join(server.cmd("capture-pane", "-p", "-J", "-S", "-200", "-t", pane_id).stdout)


def status(cli: Cli, agency: str | None = None) -> dict | list:
    result = cli("status", *([agency] if agency else []), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_create_makes_the_windows_starts_the_programs_and_briefs_every_agent(cli: Cli, server: Server) -> None:
    result = cli(
        "create", "Research", "--agents", "alpha,beta", "--coordinator", "lead", "--capabilities", "research,writing"
    )
    assert result.returncode == 0, result.stderr

    assert windows(server, "Research") == [(0, "lead"), (1, "alpha"), (2, "beta"), (3, "tools"), (4, "sandbox")]
    view = status(cli, "Research")
    assert [(a["name"], a["state"]) for a in view["agents"]] == [
        ("lead", "running"),
        ("alpha", "running"),
        ("beta", "running"),
    ]
    for agent in view["agents"]:
        text = screen(server, agent["pane_id"])
        # The agent knows who it is from its pane's environment, and got its briefing once ready.
        assert f"{agent['name']} @ Research" in text
        assert "briefing received" in text
        # It went to the agent, not to the shell the agent runs in: nothing was run as a command.
        assert "not found" not in text and "## Role" not in text

    folder = cli.workspace.agency_dir("Research")
    spec = json.loads((folder / "agency.json").read_text())
    assert spec["coordinator"]["name"] == "lead"
    assert [a["name"] for a in spec["agents"]] == ["alpha", "beta"]
    assert spec["capabilities"] == ["research", "writing"]
    assert (folder / "coordinator.md").is_file()
    assert (folder / "agents" / "alpha.md").is_file() and (folder / "agents" / "beta.md").is_file()
    assert (folder / "scripts").is_dir()
    log = (folder / "logs" / "activity.log").read_text()
    assert "CREATE Research" in log and log.count("BRIEFING") == 3

    records = Registry(cli.workspace.registry_dir).snapshot(AGENCIES).all()
    assert [r["name"] for r in records] == ["Research"]
    assert records[0]["status"] == "running"


def test_agent_panes_run_in_the_project_with_the_agency_environment(cli: Cli, server: Server) -> None:
    assert cli("create", "Solo", "--agents", "worker").returncode == 0
    view = status(cli, "Solo")
    tools = next(w for w in view["windows"] if w["name"] == "tools")
    server.cmd("send-keys", "-t", tools["pane_id"], "-l", 'echo "[$TMUX_AGENCY_AGENCY|$TMUX_AGENCY_HOME|$(pwd)]"')
    server.cmd("send-keys", "-t", tools["pane_id"], "Enter")
    expected = f"[Solo|{cli.workspace.root}|{cli.workspace.project_dir()}]"
    wait_for(lambda: expected in screen(server, tools["pane_id"]))
    worker = next(a for a in view["agents"] if a["name"] == "worker")
    pid = server.cmd("display-message", "-p", "-t", worker["pane_id"], "#{pane_pid}").stdout[0]
    environ = dict(
        item.split("=", 1) for item in open(f"/proc/{pid}/environ", "rb").read().decode().split("\0") if "=" in item
    )
    assert environ["TMUX_AGENCY_AGENT"] == "worker"
    assert environ["TMUX_AGENCY_AGENCY"] == "Solo"
    assert environ["TMUX_AGENCY_SOCKET"] == server.socket_name


def test_a_starter_agency_starts_from_its_name_alone(cli: Cli, server: Server) -> None:
    result = cli("create", "CodeAgency")
    assert result.returncode == 0, result.stderr
    assert [name for _, name in windows(server, "CodeAgency")] == [
        "code-coordinator",
        "python-agent",
        "js-agent",
        "go-agent",
        "code-reviewer",
        "tools",
        "sandbox",
    ]
    view = status(cli, "CodeAgency")
    assert all(a["state"] == "running" for a in view["agents"])
    python_agent = next(a for a in view["agents"] if a["name"] == "python-agent")
    wait_for(lambda: "briefing received" in screen(server, python_agent["pane_id"]))
    assert "Python" in screen(server, python_agent["pane_id"])


def test_every_starter_agency_validates_and_starts(cli: Cli, server: Server) -> None:
    for name in STARTER_AGENCIES:
        result = cli("create", name)
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert "not briefed" not in result.stderr
    listed = json.loads(cli("list", "--json").stdout)
    assert sorted(a["name"] for a in listed) == sorted(STARTER_AGENCIES)
    assert all(a["status"] == "running" for a in listed)
    for view in status(cli):
        assert view["agents"] and all(a["state"] == "running" for a in view["agents"]), view["name"]


def test_the_scripted_agent_acknowledges_a_task_and_reports_complete(cli: Cli, server: Server) -> None:
    assert cli("create", "Lab", "--agents", "tech").returncode == 0
    sent = cli("send", "Lab", "coordinator", "TASK-001: Create a FastAPI hello world endpoint")
    assert sent.returncode == 0, sent.stderr

    def coordinator_inbox() -> list[str]:
        inbox = json.loads(cli("inbox", "Lab", "lab-coordinator", "--json").stdout)
        return [m["body"] for m in inbox]

    bodies = wait_for(lambda: (b := coordinator_inbox()) and any(x.startswith("COMPLETE") for x in b) and b)
    assert "STATUS tech: working on TASK-001" in bodies
    assert "COMPLETE tech: TASK-001 done" in bodies
    assert bodies.index("STATUS tech: working on TASK-001") < bodies.index("COMPLETE tech: TASK-001 done")
    # The coordinator delegated the task to its specialist through the bus.
    tech_inbox = json.loads(cli("inbox", "Lab", "tech", "--json").stdout)
    assert tech_inbox[0]["body"].startswith("TASK-001") and tech_inbox[0]["sender_agent"] == "lab-coordinator"


def test_list_status_kill(cli: Cli, server: Server) -> None:
    assert cli("create", "One", "--agents", "a").returncode == 0
    assert cli("create", "Two", "--agents", "b,c").returncode == 0
    listing = cli("list")
    assert "● One" in listing.stdout and "● Two" in listing.stdout
    assert {v["name"]: len(v["agents"]) for v in status(cli)} == {"One": 2, "Two": 3}

    killed = cli("kill", "One")
    assert killed.returncode == 0, killed.stderr
    assert not server.has_session("One")
    assert [a["name"] for a in json.loads(cli("list", "--json").stdout)] == ["Two"]
    assert "KILL One" in (cli.workspace.agency_dir("One") / "logs" / "activity.log").read_text()


def test_list_status_and_the_control_room_agree_on_an_agent_whose_program_ended(cli: Cli, server: Server) -> None:
    """One computation of whether an agent runs: `list` does not say all is well while `status`
    and the control room say an agent is down."""
    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.services.dashboard import Dashboard

    from .test_bus import kill_program

    assert cli("create", "Pair", "--agents", "left,right").returncode == 0
    right = next(a for a in status(cli)[0]["agents"] if a["name"] == "right")
    kill_program(server, right["pane_id"])

    def down_in_status() -> list[str]:
        return [a["name"] for a in status(cli)[0]["agents"] if a["state"] == "down"]

    assert wait_for(down_in_status) == ["right"]
    assert "Pair  running  3 agents (1 down)" in cli("list").stdout
    assert json.loads(cli("list", "--json").stdout)[0]["down"] == ["right"]
    [view] = Dashboard(cli.workspace, Tmux(server.socket_name)).agencies()
    assert [a.name for a in view.agents if a.state == "down"] == ["right"]


def test_a_vanished_session_shows_as_stopped_and_restore_brings_it_back(cli: Cli, server: Server) -> None:
    assert cli("create", "Ops", "--agents", "watcher").returncode == 0
    assert cli("send", "Ops", "watcher", "STATUS note for later").returncode == 0
    server.kill()  # the tmux server dies, as after a reboot
    listed = json.loads(cli("list", "--json").stdout)
    assert [(a["name"], a["status"]) for a in listed] == [("Ops", "stopped")]

    restored = cli("restore")
    assert restored.returncode == 0, restored.stderr
    assert "restored Ops: 2/2 agents briefed" in restored.stdout
    assert [name for _, name in windows(server, "Ops")] == ["ops-coordinator", "watcher", "tools", "sandbox"]
    view = status(cli, "Ops")
    assert view["status"] == "running" and all(a["state"] == "running" for a in view["agents"])
    watcher = next(a for a in view["agents"] if a["name"] == "watcher")
    wait_for(lambda: "briefing received" in screen(server, watcher["pane_id"]))
    assert cli("restore").stdout.startswith("nothing to restore")


def test_twenty_processes_creating_agencies_at_once_all_land(cli: Cli, server: Server) -> None:
    names = [f"Team{n:02d}" for n in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda name: cli("create", name, "--agents", "solo", timeout=240), names))
    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results if r.returncode]
    raw = json.loads((cli.workspace.registry_dir / AGENCIES).read_text())
    assert sorted(doc["name"] for doc in raw["_default"].values()) == names
    assert sorted(server.cmd("list-sessions", "-F", "#{session_name}").stdout) == names


# --- bad input: one line, the right exit status, nothing changed --------------------------------


def assert_refused(result, code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, f"not one line: {result.stderr!r}"
    assert result.stderr.startswith("tmux-agency: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in {result.stderr!r}"


@pytest.mark.parametrize(
    "args, needle",
    [
        (["create", "bad:name", "--agents", "a"], "invalid agency name 'bad:name'"),
        (["create", "Code.Agency", "--agents", "a"], "invalid agency name"),
        (["create", "../escape", "--agents", "a"], "invalid agency name"),
        (["create", "x" * 41, "--agents", "a"], "invalid agency name"),
        (["create", "", "--agents", "a"], "invalid agency name"),
        (["create", "Good", "--agents", "a,a"], "names 'a' twice"),
        (["create", "Good", "--agents", "ok,b/ad"], "invalid agent name 'b/ad'"),
        (["create", "Good", "--agents", "tools"], "reserved"),
        (["create", "Good", "--agents", "coordinator"], "cannot be named 'coordinator'"),
        (["create", "Good", "--agents", "a", "--coordinator", "a"], "duplicate agent name 'a'"),
        (["create", "Unknown"], "no agency 'Unknown'"),
        (["create", "Review", "--from", "NoSuchAgency"], "no template 'NoSuchAgency'"),
        (["create", "Review", "--from", "../QAAgency"], "invalid template"),
        (["create", "QAAgency", "--from", "CodeAgency"], "'QAAgency' is already defined"),
        (["create", "Good", "--agents", "a", "--program", "no-such-program-xyz"], "'no-such-program-xyz' not found"),
        (["kill", "Nobody"], "unknown agency 'Nobody'"),
        (["status", "Nobody"], "unknown agency 'Nobody'"),
        (["create"], "required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(cli: Cli, server: Server, args: list[str], needle: str) -> None:
    before = registry_bytes(cli.workspace)
    agencies_before = sorted(p.name for p in cli.workspace.agencies_dir.iterdir())
    assert_refused(cli(*args), 2, needle)
    assert registry_bytes(cli.workspace) == before
    assert sorted(p.name for p in cli.workspace.agencies_dir.iterdir()) == agencies_before
    assert server.cmd("list-sessions").stdout == [] or not server.is_alive()


def test_creating_an_agency_that_exists_is_refused(cli: Cli, server: Server) -> None:
    assert cli("create", "Twice", "--agents", "a").returncode == 0
    before = registry_bytes(cli.workspace)
    assert_refused(cli("create", "Twice", "--agents", "a"), 2, "already exists")
    assert registry_bytes(cli.workspace) == before
    server.new_session("Foreign")
    assert_refused(cli("create", "Foreign", "--agents", "a"), 2, "a tmux session named 'Foreign' already exists")
    assert registry_bytes(cli.workspace) == before


def test_an_invalid_agency_json_names_the_file_and_the_field(cli: Cli, server: Server) -> None:
    folder = cli.workspace.agency_dir("Broken")
    folder.mkdir()
    (folder / "agency.json").write_text(
        json.dumps({"name": "Broken", "coordinator": {"name": "c"}, "agents": [{"nmae": "x"}]})
    )
    assert_refused(cli("create", "Broken"), 2, str(folder / "agency.json"), "agents.0")
    (folder / "agency.json").write_text("{not json")
    assert_refused(cli("create", "Broken"), 2, str(folder / "agency.json"), "not valid JSON")
    assert not server.is_alive() or not server.has_session("Broken")


def test_tmux_missing_is_a_broken_world_not_a_traceback(cli: Cli) -> None:
    before = registry_bytes(cli.workspace)
    result = cli("create", "Lonely", "--agents", "a", env={"PATH": "/nonexistent"})
    assert_refused(result, 1, "tmux is not installed")
    assert registry_bytes(cli.workspace) == before


def test_a_shell_program_is_never_typed_into(cli: Cli, server: Server) -> None:
    result = cli("create", "Shells", "--agents", "sh1", "--program", "sh")
    assert result.returncode == 0, result.stderr
    assert "is a shell: briefings are not typed into shells" in result.stderr
    view = status(cli, "Shells")
    pane = next(a for a in view["agents"] if a["name"] == "sh1")["pane_id"]
    assert "tmux-agency: how you talk" not in screen(server, pane)
