"""Bad input, end to end: each case is the real CLI in a subprocess against real files (and, where
agencies are needed, a real tmux server with scripted agents). Every case must give one line on
stderr, no traceback, its exit status, and leave the registry as it was.

Three tables: input a user or an agent can get wrong (exit 2), names and ids with a trailing
newline (which a regex ending in `$` lets through), and registry files that do not read — empty,
or not the shape their writers give them (exit 2 as well: the file is input the person must fix)
— read by commands that only read, which must change no file at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sample_registry import populate
from tmux_agency.doors.workspace import Workspace, init_workspace

from .helpers import Cli, Result, make_project, registry_bytes

ALERT = '{"type": "alert", "severity": "high", "message": "disk full"}'
HANDOFF = '{"type": "handoff", "task": "T-9", "branch": "feature/x"}'
BIG = ('{"type": "alert", "severity": "low", "message": "' + "x" * 2_000_000 + '"}').encode()
DEEP_LIST = ("[" * 50_000 + "]" * 50_000).encode()
DEEP_OBJECT = ('{"a":' * 50_000 + "1" + "}" * 50_000).encode()
IN_DEV = {"TMUX_AGENCY_AGENCY": "Dev", "TMUX_AGENCY_AGENT": "py"}


def assert_one_line(result: Result, code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout[:300], result.stderr[:300])
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("tmux-agency: "), (
        f"not one line: {result.stderr[:500]!r}"
    )
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in {result.stderr!r}"


def tree(root: Path) -> dict[str, bytes | None]:
    """Every folder and file under `root`, dot-files (locks, the history's key and head) too."""
    found: dict[str, bytes | None] = {}
    for folder, _, files in os.walk(root):
        found[folder] = None
        for name in files:
            path = os.path.join(folder, name)
            found[path] = Path(path).read_bytes()
    return found


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """Two running agencies, Dev (py) and QA (tester), on a tmux server of their own, shared by
    the cases below: each must leave it exactly as it found it."""
    base = tmp_path_factory.mktemp("office")
    home = base / "home"
    home.mkdir()
    ws, _ = init_workspace(base / "ws", make_project(base / "project"))
    socket = f"tmux-agency-bad-input-{os.getpid()}"
    env = {
        "HOME": str(home),
        "SHELL": "/bin/sh",
        "TMUX_AGENCY_AGENT_PACE": "0.2",
        "TMUX_AGENCY_AGENCY": "",
        "TMUX_AGENCY_AGENT": "",
        "TMUX": "",
    }
    cli = Cli(ws, socket, env)
    try:
        for name, agents in (("Dev", "py"), ("QA", "tester")):
            result = cli("create", name, "--agents", agents)
            assert result.returncode == 0, result.stderr
        yield cli
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


# --- input a person or an agent gets wrong: exit 2 ---------------------------------------------------

BAD_INPUT = [
    # who speaks
    (
        ["broadcast", "NoSuch", ALERT],
        None,
        {},
        "unknown sender 'NoSuch': a broadcast comes from a registered agency, MetaOrchestrator or human",
    ),
    (["broadcast", "QA", ALERT], None, IN_DEV, "this pane belongs to agency Dev: it cannot send as 'QA'"),
    (
        ["broadcast", "MetaOrchestrator", ALERT],
        None,
        IN_DEV,
        "this pane belongs to agency Dev: it cannot send as 'MetaOrchestrator'",
    ),
    (["send-inter", "QA", "Dev", HANDOFF], None, IN_DEV, "this pane belongs to agency Dev: it cannot send as 'QA'"),
    (["deliver", "NoSuch"], None, {}, "unknown agency 'NoSuch'"),
    # too much, too deep
    (["send-inter", "Dev", "QA", "-"], BIG, {}, "the message is 2,000,051 characters long; the limit is 1,000,000"),
    (["broadcast", "Dev", "-"], BIG, {}, "the message is 2,000,051 characters long; the limit is 1,000,000"),
    (["send-inter", "Dev", "QA", "-"], DEEP_LIST, {}, "the JSON is nested too deeply"),
    (["send-inter", "Dev", "QA", "-"], DEEP_OBJECT, {}, "the JSON is nested too deeply"),
    (["broadcast", "Dev", "-"], DEEP_OBJECT, {}, "the JSON is nested too deeply"),
    # text that is not text
    (["send", "Dev", "py", "-"], b"\xed\xa0\x80", {}, "the text on stdin is not valid UTF-8 (byte 0xed at offset 0)"),
    (["send", "Dev", "py", "-"], b"STATUS \xff", {}, "the text on stdin is not valid UTF-8 (byte 0xff at offset 7)"),
    (
        ["send-inter", "Dev", "QA", "-"],
        b'{"type": "alert", "severity": "low", "message": "\xff"}',
        {},
        "the text on stdin is not valid UTF-8",
    ),
    (["send", "Dev", "py", "STATUS \udcff"], None, {}, "argument 4 is not valid UTF-8 (byte 0xff at character 7)"),
    (["send", "Dev", "py", "\udced\udca0\udc80"], None, {}, "argument 4 is not valid UTF-8 (byte 0xed at character 0)"),
    (["task", "add", "title \udcff", "--agency", "Dev"], None, {}, "argument 3 is not valid UTF-8"),
    (
        ["send-inter", "Dev", "QA", '{"type": "alert", "severity": "low", "message": "\\ud800"}'],
        None,
        {},
        "the JSON holds a lone surrogate (U+D800)",
    ),
    (["send-inter", "Dev", "QA", '{"type": "al\\nert"}'], None, {}, "'al\\nert' message: field 'type'"),
    # a folder that cannot be made
    (
        ["init", "/proc/nope/ws"],
        None,
        {},
        "cannot make the workspace /proc/nope/ws: /proc/nope: No such file or directory",
    ),
]


@pytest.mark.parametrize(
    ("args", "stdin", "env", "needle"), BAD_INPUT, ids=[f"{' '.join(a)[:40]}" for a, *_ in BAD_INPUT]
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    office: Cli, args: list[str], stdin: bytes | None, env: dict, needle: str
) -> None:
    before = registry_bytes(office.workspace)
    assert_one_line(office(*args, env=env, stdin=stdin), 2, needle)
    assert registry_bytes(office.workspace) == before


# --- names and ids with a trailing newline ------------------------------------------------------------

TRAILING_NEWLINE = [
    (["create", "Zed\n"], "invalid agency name 'Zed\\n'"),
    (["--socket", "name\n", "list"], "invalid socket name 'name\\n'"),
    (["send", "Dev\n", "py", "STATUS x"], "invalid agency name 'Dev\\n'"),
    (["send", "Dev", "py\n", "STATUS x"], "invalid agent name 'py\\n'"),
    (["send-inter", "Dev", "QA\n", ALERT], "invalid agency name 'QA\\n'"),
    (["broadcast", "Dev\n", ALERT], "invalid sender name 'Dev\\n'"),
    (["deliver", "Dev\n"], "invalid agency name 'Dev\\n'"),
    (["inbox", "Dev\n"], "invalid agency name 'Dev\\n'"),
    (["kill", "Dev\n"], "invalid agency name 'Dev\\n'"),
    (["schedule", "--in", "5m", "Dev\n", "STATUS?"], "invalid agency name 'Dev\\n'"),
    (["schedule", "--in", "5m", "Dev/py\n", "STATUS?"], "invalid agent name 'py\\n'"),
    (["schedule", "cancel", "1\n"], "check-in id '1\\n'"),
    (["approve", "1\n"], "approval id '1\\n' is not a number"),
    (["task", "add", "Login", "--agency", "Dev\n"], "invalid agency name 'Dev\\n'"),
    (["metrics", "--agency", "Dev\n"], "invalid agency name 'Dev\\n'"),
]


@pytest.mark.parametrize(
    ("args", "needle"), TRAILING_NEWLINE, ids=[" ".join(a).replace("\n", "\\n") for a, _ in TRAILING_NEWLINE]
)
def test_a_trailing_newline_never_passes_a_name_or_id_check(office: Cli, args: list[str], needle: str) -> None:
    before = registry_bytes(office.workspace)
    assert_one_line(office(*args), 2, needle)
    assert registry_bytes(office.workspace) == before


# --- registry files that do not read ---------------------------------------------------------------


@pytest.fixture
def sample(workspace: Workspace) -> Cli:
    """The sample registry (agencies, history, tasks, approvals), and no tmux server behind it."""
    populate(workspace)
    return Cli(workspace, "tmux-agency-tests-no-such-server", {})


def _task_without_state(ws: Workspace) -> str:
    data = json.loads((ws.registry_dir / "task_graph.json").read_text())
    del data["_default"]["1"]["state"]
    return json.dumps(data)


def _agency_without_agents(ws: Workspace) -> str:
    data = json.loads((ws.registry_dir / "active_agencies.json").read_text())
    del data["_default"]["1"]["agents"]
    return json.dumps(data)


UNREADABLE = [
    ("schedule.json", lambda ws: "", ["schedule", "list"], "(the file is empty)"),
    ("schedule.json", lambda ws: "[]", ["schedule", "list"], "(the top level is a list, not an object)"),
    (
        "schedule.json",
        lambda ws: '{"_default": {"1": {"id": 1, "agency": "CodeAgency"}}}',
        ["schedule", "list"],
        "(entry 1 of table '_default' has no 'agent', 'text', 'due')",
    ),
    ("task_graph.json", _task_without_state, ["task", "list"], "(entry 1 of table '_default' has no 'state')"),
    ("task_graph.json", _task_without_state, ["task", "show", "FEAT-101"], "has no 'state'"),
    ("task_graph.json", lambda ws: "", ["capabilities"], "(the file is empty)"),
    (
        "approval_queue.json",
        lambda ws: '{"_default": {"1": {"id": 1}}}',
        ["approvals"],
        "(entry 1 of table '_default' has no 'agency'",
    ),
    ("approval_queue.json", lambda ws: '{"_default": {"1": {"id": 1}}}', ["metrics"], "has no 'agency'"),
    (
        "active_agencies.json",
        lambda ws: '{"_default": []}',
        ["capabilities"],
        "(table '_default' is a list, not an object)",
    ),
    ("active_agencies.json", _agency_without_agents, ["inbox", "CodeAgency"], "has no 'agents'"),
    ("active_agencies.json", lambda ws: "", ["list"], "(the file is empty)"),
    ("message_queue.json", lambda ws: "[]", ["status"], "(the top level is a list, not an object)"),
    (
        "message_queue.json",
        lambda ws: '{"_default": {"1": 5}}',
        ["inbox", "CodeAgency"],
        "(entry 1 of table '_default' is a number, not an object)",
    ),
    ("message_queue.json", lambda ws: "\n\n", ["inbox", "CodeAgency"], "(the file is empty)"),
]


@pytest.mark.parametrize(
    ("name", "content", "args", "needle"),
    UNREADABLE,
    ids=[f"{n}-{' '.join(a)}-{i}" for i, (n, _, a, _) in enumerate(UNREADABLE)],
)
def test_an_unreadable_registry_file_is_named_and_a_read_changes_no_file(
    sample: Cli, name: str, content, args: list[str], needle: str
) -> None:
    ws = sample.workspace
    (ws.registry_dir / name).write_text(content(ws))
    before = tree(ws.root)
    assert_one_line(
        sample(*args),
        2,
        f"registry file {ws.registry_dir / name} is corrupt (",
        needle,
        f"the next command that writes it will move it aside as {name}.corrupt-",
    )
    assert tree(ws.root) == before, "a read-only command created, moved or rewrote a file"


def test_a_writer_moves_an_empty_registry_file_aside_and_starts_anew(sample: Cli) -> None:
    """An emptied schedule.json used to read as 'no check-ins' and the next one added replaced
    them all without a word; now the writer keeps it aside, says so, and the next write starts anew."""
    path = sample.workspace.registry_dir / "schedule.json"
    path.write_text("")
    result = sample("schedule", "--in", "30m", "CodeAgency", "STATUS?")
    assert_one_line(
        result, 2, f"registry file {path} is corrupt (the file is empty); moved aside to schedule.json.corrupt-"
    )
    assert not path.exists() and len(list(path.parent.glob("schedule.json.corrupt-*"))) == 1
    assert sample("schedule", "--in", "30m", "CodeAgency", "STATUS?").returncode == 0
    assert "#1" in sample("schedule", "list").stdout


# --- read-only commands never write -------------------------------------------------------------------

READ_ONLY = [
    ["list"],
    ["list", "--json"],
    ["status"],
    ["status", "CodeAgency", "--json"],
    ["inbox", "CodeAgency"],
    ["inbox", "CodeAgency", "--json"],
    ["log"],
    ["log", "--json"],
    ["log", "--verify"],
    ["approvals"],
    ["approvals", "--all", "--json"],
    ["metrics"],
    ["metrics", "--json"],
    ["task", "list"],
    ["task", "show", "FEAT-101"],
    ["capabilities"],
    ["schedule", "list"],
]


def test_read_only_commands_write_nothing_on_a_full_registry_or_on_none(sample: Cli) -> None:
    """The other half of the promise above, with a wrong socket (no tmux server): on a full
    registry, and without a registry folder, which they must not make. (`list` and `status`
    marked every agency stopped here before issue 13.)"""
    ws = sample.workspace
    for args in READ_ONLY:
        before = tree(ws.root)
        result = sample(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert tree(ws.root) == before, args
    shutil.rmtree(ws.registry_dir)
    before = tree(ws.root)
    for args in READ_ONLY:
        result = sample(*args)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr, (args, result.stderr)
        assert tree(ws.root) == before and not ws.registry_dir.exists(), args
