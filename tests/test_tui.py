"""The control room: snapshots on a realistic registry, and Pilot driving the real App."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from libtmux import Server

from tests.sample_registry import populate
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace, init_workspace
from tmux_agency.tui.app import ControlRoom
from tmux_agency.tui.widgets.approvals import ApprovalQueue
from tmux_agency.tui.widgets.feed import MessageFeed
from tmux_agency.tui.widgets.taskgraph import TaskGraph

from .helpers import Cli, wait_for
from .sandbox_fixtures import PLAIN_TESTS, coordinator_received, run_git
from .terminal_replica import TerminalReplica

SIZE = (140, 42)
NO_SERVER = "tmux-agency-snapshot-no-server"  # a socket nothing listens on: tmux shows as down


def fixed_clock() -> datetime:
    return datetime(2026, 11, 25, 10, 42, tzinfo=timezone.utc)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def sample_ws(tmp_path: Path, utc: None) -> Workspace:
    project = tmp_path / "project"
    project.mkdir()
    workspace, _ = init_workspace(tmp_path / "ws", project)
    populate(workspace)
    return workspace


# A commit's id depends on its author, its time and its parent: fixed, so are the ids on screen.
FIXED_GIT = {
    "GIT_AUTHOR_NAME": "Ada Reviewer",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_AUTHOR_DATE": "2026-11-24T09:00:00+00:00",
    "GIT_COMMITTER_NAME": "Ada Reviewer",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_COMMITTER_DATE": "2026-11-24T09:00:00+00:00",
}


def fixed_git(repo: Path, *args: str, **env: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **FIXED_GIT, **env}
    )


@pytest.fixture
def drift_ws(tmp_path: Path, utc: None) -> Workspace:
    """The sample registry on a real project whose main gained a commit no approval made: an
    agent committed there itself, after the workspace's first agency started."""
    from tmux_agency.services.drift import note_baseline

    project = tmp_path / "project"
    fixed_git(tmp_path, "init", "-q", "-b", "main", str(project))
    (project / "README.md").write_text("# shop\n")
    fixed_git(project, "add", "README.md")
    fixed_git(project, "commit", "-q", "-m", "initial")
    workspace, _ = init_workspace(tmp_path / "ws", project)
    populate(workspace)
    note_baseline(workspace, "created CodeAgency")
    (project / "login.py").write_text("def login(user):\n    return True\n")
    fixed_git(project, "add", "login.py")
    agent = {
        "GIT_AUTHOR_NAME": "python-agent",
        "GIT_AUTHOR_DATE": "2026-11-25T10:30:00+00:00",
        "GIT_COMMITTER_DATE": "2026-11-25T10:30:00+00:00",
    }
    fixed_git(project, "commit", "-q", "-m", "Skip the review: login straight into main", **agent)
    return workspace


def room(ws: Workspace, socket: str = NO_SERVER, **kwargs) -> ControlRoom:
    return ControlRoom(ws, Tmux(socket), watch=False, clock=fixed_clock, load_older=False, **kwargs)


# --- snapshots --------------------------------------------------------------------------------------


class TestSnapshots:
    def test_main_screen(self, sample_ws: Workspace, snap_compare) -> None:
        assert snap_compare(room(sample_ws), terminal_size=SIZE)

    def test_approval_details_of_the_second_item(self, sample_ws: Workspace, snap_compare) -> None:
        async def select_second(pilot) -> None:
            pilot.app.query_one("#approval-table").focus()
            await pilot.press("down")

        assert snap_compare(room(sample_ws), terminal_size=SIZE, run_before=select_second)

    def test_reject_modal(self, sample_ws: Workspace, snap_compare) -> None:
        assert snap_compare(room(sample_ws), terminal_size=SIZE, press=["r", *"Split the page into two PRs"])

    def test_feed_filtered_to_handoffs(self, sample_ws: Workspace, snap_compare) -> None:
        assert snap_compare(room(sample_ws), terminal_size=SIZE, press=["slash", *"type:handoff"])

    def test_help(self, sample_ws: Workspace, snap_compare) -> None:
        assert snap_compare(room(sample_ws), terminal_size=SIZE, press=["question_mark"])

    def test_new_agency_from_a_template(self, sample_ws: Workspace, snap_compare) -> None:
        assert snap_compare(room(sample_ws), terminal_size=SIZE, press=["n", "down", "down"])

    def test_the_base_moved_behind_the_gates_back(self, drift_ws: Workspace, snap_compare) -> None:
        """The header, the approvals pane and a notification say it, with the commit."""
        assert snap_compare(room(drift_ws), terminal_size=SIZE)


# --- behaviour ------------------------------------------------------------------------------------


async def test_the_filter_keeps_matching_messages_only(sample_ws: Workspace) -> None:
    app = room(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        feed = app.query_one(MessageFeed)
        everything = len(feed.shown)
        await pilot.press("slash", *"agency:QAAgency type:results")
        await pilot.pause()
        rows = [feed.rows[i] for i in feed.shown]
        assert 0 < len(rows) < everything
        assert all(r.type == "results" and "QAAgency" in r.agencies for r in rows)
        await pilot.press("escape")
        assert len(feed.shown) == everything


@pytest.mark.parametrize(
    "keys",
    [
        ("tab",),
        ("tab", "tab"),
        ("shift+tab",),
        ("down", "down", "up"),
        ("slash", "q", "escape"),
        ("tab", "end", "home"),
    ],
    ids=lambda keys: "-".join(keys),
)
async def test_what_the_terminal_shows_after_a_key_is_the_whole_screen(
    sample_ws: Workspace, keys: tuple[str, ...]
) -> None:
    """The control room repaints only what a key changes (a focus change does not repaint the whole
    screen): the user's terminal must still end up showing exactly what a full repaint shows —
    the pane left and the pane entered, their borders, highlights and scrollbars."""
    app = room(sample_ws)
    terminal = TerminalReplica.attach(app, SIZE)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = [list(row) for row in terminal.cells]
        frames = terminal.frames
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause(0.1)
        assert terminal.frames > frames and terminal.cells != before  # the keys changed the screen
        assert terminal.differences(TerminalReplica.full_repaint(app)) == []


async def test_a_long_task_graph_scrolls_from_the_keyboard(tmp_path: Path, utc: None) -> None:
    project = tmp_path / "project"
    project.mkdir()
    ws, _ = init_workspace(tmp_path / "ws", project)
    populate(ws, tasks=60)
    app = room(ws)
    async with app.run_test(size=SIZE) as pilot:
        graph = app.query_one(TaskGraph)
        assert len(graph.lines) > graph.size.height  # 60 tasks do not fit: the pane must scroll
        first_line = graph.render_line(0).text
        await pilot.press("tab", "tab", "tab")  # agencies -> feed -> filter -> task graph
        assert graph.has_focus
        await pilot.press("end")
        await pilot.pause()
        last = "".join(segment.text for segment in graph.lines[-1])
        bottom = graph.render_line(graph.size.height - 1).text.rstrip()  # cut to the pane with "…"
        assert len(bottom) > 10 and last.startswith(bottom.removesuffix("…"))
        assert graph.render_line(0).text != first_line


async def test_an_unreadable_registry_file_is_named_not_a_crash(sample_ws: Workspace) -> None:
    app = room(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        shown = len(app.query_one(ApprovalQueue).items)
        (sample_ws.registry_dir / "approval_queue.json").write_text('{"_default": {"1": {"id": 1}}}')
        (sample_ws.registry_dir / "task_graph.json").write_text("{not json")
        app.refresh_approvals()
        app.refresh_tasks()
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any(
            "approvals: registry file" in m
            and "approval_queue.json is corrupt (entry 1 of table '_default' has no 'agency'" in m
            for m in messages
        )
        assert any("task graph: registry file" in m and "is corrupt" in m for m in messages)
        assert len(app.query_one(ApprovalQueue).items) == shown  # the pane keeps what it showed
        # Not lost: where it was (reading moves nothing), or aside if a write came since.
        kept = [*sample_ws.registry_dir.glob("task_graph.json*")]
        assert any(p.read_text() == "{not json" for p in kept)


async def test_an_agent_row_never_wraps_and_the_agency_row_counts_what_waits(sample_ws: Workspace) -> None:
    """Queued messages make a row longer than the pane: it is cut with "…", never wrapped onto a
    line of its own, and the agency's row says how many messages wait for its agents in all."""
    from tmux_agency.doors.registry import MESSAGES, Registry
    from tmux_agency.services.bus import new_message

    with Registry(sample_ws.registry_dir).transaction(MESSAGES) as queue:
        queue.insert_multiple(
            new_message("intra", "NOTE", (None, "human"), ("CodeAgency", "code-coordinator"), "hi", message_id=f"m{n}")
            for n in range(1234)
        )
    app = room(sample_ws)
    terminal = TerminalReplica.attach(app, SIZE)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        rows = [row[:34] for row in terminal.text()]  # the agency pane's columns
        coordinator = next(y for y, row in enumerate(rows) if "code-coordinator" in row)
        assert "CodeAgency  0/4 up ✉1234" in rows[coordinator - 1]
        assert "python-agent" in rows[coordinator + 1]  # the next agent, not a wrapped badge
        assert "down ✉…" in rows[coordinator] or "down ✉1234" in rows[coordinator]


async def test_without_tmux_it_shows_the_registry_and_explains(sample_ws: Workspace) -> None:
    app = room(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        assert "tmux down" in str(app.query_one("#titlebar").render())
        assert len(app.query_one(ApprovalQueue).items) == 2
        app.query_one("#agencies").focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert any("Cannot jump to a pane" in n.message for n in app._notifications)


def test_a_bad_snapshot_size_is_refused(sample_ws: Workspace, tmp_path: Path) -> None:
    for size in ("big", "10x10", "120x", "99999x40"):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "tmux_agency",
                "--home",
                str(sample_ws.root),
                "tui",
                "--snapshot",
                str(tmp_path / "s.svg"),
                "--size",
                size,
            ],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--size" in out.stderr
    assert not (tmp_path / "s.svg").exists()


def test_snapshot_mode_renders_headless_and_exits_0(sample_ws: Workspace, tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tmux_agency",
            "--home",
            str(sample_ws.root),
            "--socket",
            NO_SERVER,
            "tui",
            "--snapshot",
            str(tmp_path / "room.svg"),
            "--size",
            "100x30",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    svg = (tmp_path / "room.svg").read_text()
    assert svg.startswith("<svg") and "Approvals" in svg and "CodeAgency" in svg


# --- with a real tmux server and real git -----------------------------------------------------------


async def test_approve_from_the_keyboard_merges_and_tells_the_agency(lab: Cli, shop: Path) -> None:  # noqa: F811
    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    app = ControlRoom(lab.workspace, Tmux(lab.socket), watch=False, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#approval-table").focus()
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert json.loads(lab("approvals", "--all", "--json").stdout)["items"][0]["status"] == "approved"
    assert run_git(shop, "log", "-1", "--format=%s").startswith("Merge feature/mul into main: approval #1")
    wait_for(lambda: any("approval #1" in t and t.startswith("COMPLETE") for t in coordinator_received(lab)))


async def test_reject_from_the_keyboard_shows_the_lesson_then_saves_exactly_it(lab: Cli, shop: Path) -> None:  # noqa: F811
    assert lab("deploy", "CodeAgency", "feature/mul", "--test-command", PLAIN_TESTS).returncode == 0
    app = ControlRoom(lab.workspace, Tmux(lab.socket), watch=False, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r", *"Please add a docstring")
        await pilot.pause()
        shown = str(app.screen.query_one("#lesson-preview").render())
        assert shown == "- 2026-11-25 feature/mul (approval #1, rev 1): Please add a docstring"
        assert not (lab.workspace.agency_dir("CodeAgency") / "lessons.md").exists(), "nothing saved before enter"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert json.loads(lab("approvals", "--all", "--json").stdout)["items"][0]["status"] == "rejected"
    wait_for(lambda: any("Please add a docstring" in t for t in coordinator_received(lab)))
    assert (lab.workspace.agency_dir("CodeAgency") / "lessons.md").read_text().splitlines()[-1] == shown


async def test_a_commit_behind_the_gates_back_appears_while_the_room_runs(
    lab: Cli, shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: F811
    import tmux_agency.tui.app as app_module

    monkeypatch.setattr(app_module, "BASE_CHECK_S", 0.2)
    app = ControlRoom(lab.workspace, Tmux(lab.socket), watch=True, clock=fixed_clock, refresh_s=30)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        assert "behind the gate" not in str(app.query_one("#titlebar").render())
        (shop / "calc.py").write_text("def add(a, b):\n    return a - b\n")
        run_git(shop, "commit", "-qam", "Quietly change add")
        for _ in range(50):
            if app.drifts:
                break
            await pilot.pause(0.1)
        await pilot.pause()
        assert "main moved behind the gate's back: 1 commit" in str(app.query_one("#titlebar").render())
        assert "Quietly change add" in str(app.query_one("#base-alert").render())
        assert any("behind the gate's back" in n.message for n in app._notifications)


async def test_d_deploys_the_selected_agencys_branch_to_the_sandbox(lab: Cli, shop: Path) -> None:  # noqa: F811
    spec_path = lab.workspace.agency_dir("CodeAgency") / "agency.json"
    spec = json.loads(spec_path.read_text())
    spec["sandbox"]["test_command"] = PLAIN_TESTS  # the agency's own test command, as a user sets it
    spec_path.write_text(json.dumps(spec))
    app = ControlRoom(lab.workspace, Tmux(lab.socket), watch=False, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#agencies").focus()  # CodeAgency is the first row
        await pilot.press("d", *"feature/mul", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = [(item.agency, item.branch) for item in app.query_one(ApprovalQueue).items]
    [item] = json.loads(lab("approvals", "--json").stdout)["items"]
    assert (item["agency"], item["branch"], item["status"]) == ("CodeAgency", "feature/mul", "pending")
    assert item["tests"]["passed"] == 3 and item["tests"]["failed"] == 0
    assert shown == [("CodeAgency", "feature/mul")], "the approval queue pane shows the new item"


async def test_n_creates_an_agency_from_a_template(cli: Cli, server: Server) -> None:
    app = ControlRoom(cli.workspace, Tmux(server.socket_name), watch=False, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        templates = app.screen.query_one("#templates")
        while templates.get_option_at_index(templates.highlighted).id != "QAAgency":
            await pilot.press("down")
        name = app.screen.query_one("#agency-name")
        assert name.value == "QAAgency", "the template's own name is suggested while it is not running"
        await pilot.press("tab", *["backspace"] * len(name.value), *"Review", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    status = json.loads(cli("status", "Review", "--json").stdout)
    qa = json.loads((cli.workspace.agency_dir("QAAgency") / "agency.json").read_text())
    assert [a["name"] for a in status["agents"]] == [qa["coordinator"]["name"], *(a["name"] for a in qa["agents"])]
    assert all(a["state"] == "running" for a in status["agents"])
    assert (cli.workspace.agency_dir("Review") / "agents" / "qa_engineer.md").is_file(), "briefings came along"
    assert server.has_session("Review")


async def test_enter_jumps_to_the_selected_agents_pane(cli: Cli, server: Server) -> None:
    assert cli("create", "Jump", "--agents", "alpha,beta").returncode == 0
    attached = []
    app = ControlRoom(
        cli.workspace,
        Tmux(server.socket_name),
        watch=False,
        clock=fixed_clock,
        attach=lambda app, tmux, session, pane: attached.append((session, pane)),
    )
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#agencies").focus()
        await pilot.press("down", "down", "down")  # Jump, coordinator, alpha, beta
        await pilot.press("enter")
        await pilot.pause()
    beta = next(a for a in json.loads(cli("status", "Jump", "--json").stdout)["agents"] if a["name"] == "beta")
    assert attached == [("Jump", beta["pane_id"])]
    active = server.cmd("display-message", "-p", "-t", "=Jump:", "#{window_name}").stdout[0]
    assert active == "beta", "the session now shows beta's window, so attaching lands there"


MARKUP_LIKE = "QUESTION worker: does [/dim] close [b]this[/b] or \\[x]?"


async def test_text_that_looks_like_markup_is_shown_as_it_is(cli: Cli, server: Server) -> None:
    """Panes, messages and commit subjects say what their programs chose, brackets included:
    the preview, its recent messages, the approval queue and the confirm dialog show them
    literally (Textual's markup would have swallowed them, or stopped the app)."""
    from tmux_agency.doors.registry import Registry

    assert cli("create", "Brackets", "--agents", "worker").returncode == 0
    assert cli("send", "Brackets", "worker", MARKUP_LIKE).returncode == 0
    pane = next(a for a in json.loads(cli("status", "Brackets", "--json").stdout)["agents"] if a["name"] == "worker")[
        "pane_id"
    ]
    wait_for(lambda: "[/dim]" in Tmux(server.socket_name).capture(pane))  # the scripted agent echoes what it got
    with Registry(cli.workspace.registry_dir).transaction("approval_queue.json") as queue:
        queue.insert(
            {
                "id": 1,
                "agency": "Brackets",
                "branch": "feature/x",
                "base": "main",
                "title": "Parse [/b] tags",
                "commit": "0" * 40,
                "tests": {"passed": 1},
                "status": "pending",
            }
        )
    app = ControlRoom(cli.workspace, Tmux(server.socket_name), watch=False, clock=fixed_clock, load_older=False)
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#agencies").focus()
        await pilot.press("down", "down")  # Brackets, its coordinator, worker
        await pilot.pause()
        preview = str(app.query_one("#preview").render())
        assert "does [/dim] close [b]this[/b]" in preview  # the pane, as the agent printed it
        assert preview.count("[/dim]") >= 2  # ... and the recent message under it
        assert "Parse [/b] tags" in str(app.query_one("#approval-table").get_row_at(0)[2])
        await pilot.press("a")
        await pilot.pause()
        assert "Parse [/b] tags?" in str(app.screen.query_one(".dialog-title").render())


async def test_a_write_by_another_process_appears_on_screen(cli: Cli, server: Server) -> None:
    assert cli("create", "Live", "--agents", "worker").returncode == 0
    app = ControlRoom(cli.workspace, Tmux(server.socket_name), watch=True, clock=fixed_clock, refresh_s=30)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)  # the watcher is running
        assert cli("send", "Live", "worker", "STATUS from another process").returncode == 0
        feed = app.query_one(MessageFeed)
        for _ in range(50):
            if any(r.text == "STATUS from another process" for r in feed.rows):
                break
            await pilot.pause(0.1)
        assert any(r.text == "STATUS from another process" for r in feed.rows)


async def test_the_control_room_sends_due_check_ins(cli: Cli, server: Server) -> None:
    """While it runs, the control room is a dispatcher: a check-in that falls due is typed into
    its agent's pane without `tmux-agency run`."""
    from datetime import timedelta

    from tmux_agency.models.schema import utcnow
    from tmux_agency.services.schedule import add_checkin

    assert cli("create", "Clock", "--agents", "worker").returncode == 0
    add_checkin(
        cli.workspace, "Clock/worker", "STATUS reminder: commit your work", in_s=1, now=utcnow() - timedelta(minutes=1)
    )
    app = ControlRoom(cli.workspace, Tmux(server.socket_name), watch=True, clock=fixed_clock)

    def delivered() -> bool:
        inbox = json.loads(cli("inbox", "Clock", "worker", "--json").stdout)
        return any(m["body"] == "STATUS reminder: commit your work" and m["state"] != "queued" for m in inbox)

    async with app.run_test(size=SIZE) as pilot:
        for _ in range(150):
            if delivered():
                break
            await pilot.pause(0.1)
    assert delivered()
    left = json.loads(cli("schedule", "list", "--json").stdout)
    assert [c["agent"] for c in left] == ["coordinator"], "the one-off is gone; the default commit reminder stays"


def test_agent_states_come_from_the_pane(cli: Cli, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """idle at its prompt, busy while it works, down once its program exits — read from the pane
    by the scripted agent's profile, with one list-panes for all agents."""
    from tmux_agency.services.dashboard import Dashboard

    monkeypatch.setenv("TMUX_AGENCY_AGENT_PACE", "8")
    assert cli("create", "States", "--agents", "worker").returncode == 0
    board = Dashboard(cli.workspace, Tmux(server.socket_name))

    def state(name: str) -> str:
        [agency] = board.agencies()
        return next(a.state for a in agency.agents if a.name == name)

    wait_for(lambda: state("worker") == "idle")
    assert cli("send", "States", "worker", "TASK-9: take your time").returncode == 0
    wait_for(lambda: state("worker") == "busy")
    pane = json.loads(cli("status", "States", "--json").stdout)["agents"][1]["pane_id"]
    server.cmd("send-keys", "-t", pane, "C-c")  # a person stops the program
    wait_for(lambda: state("worker") == "down")


def test_every_key_in_the_table_is_bound_shown_in_the_help_and_works() -> None:
    """The key table is the one place keys are written: each action it names exists, each key
    shows in the help, and each key in the bar is bound or handled by a widget."""
    from tmux_agency.tui import keys
    from tmux_agency.tui.app import ControlRoom

    bound = {b.action for b in ControlRoom.BINDINGS}
    help_text = keys.help_text()
    for key in keys.KEYS:
        assert f"[b]{key.help_shown or key.shown}[/b]" in help_text and key.help in help_text
        if key.action:
            assert hasattr(ControlRoom, f"action_{key.action}"), key
        if key.binding:
            assert key.action in bound, key
    assert {action for *_, action in keys.palette()} <= {k.action for k in keys.KEYS}
