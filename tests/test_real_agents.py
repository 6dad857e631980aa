"""The real agent programs, started by tmux-agency on a real isolated tmux server.

Claude Code (pinned: tests/real_clis.py, installed by .ci/setup) runs against the local stand-in
of the Messages API, so it replies and asks permission with no network. These tests fail — they
do not skip — when the CLI is missing; set TMUX_AGENCY_NO_REAL_CLIS=1 to skip them on purpose.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from libtmux import Server

from tmux_agency.demo.standin_api import StandIn
from tmux_agency.doors.tmux import Tmux
from tmux_agency.services.dashboard import Dashboard

from . import real_clis
from .helpers import Cli, wait_for


def real(program: str) -> Path:
    found = real_clis.executable(program)
    if found is None:
        if os.environ.get("TMUX_AGENCY_NO_REAL_CLIS") == "1":
            pytest.skip(f"{program} not installed, and TMUX_AGENCY_NO_REAL_CLIS=1")
        pytest.fail(f"{program} {real_clis.version_of(program)} is not installed: python tests/real_clis.py install")
    return found


@pytest.fixture(autouse=True)
def nothing_left_running(isolated_home: Path):
    """However a test ends, no program it started outlives it (Gemini CLI shrugs off the hang-up
    of a killed tmux server): everything still running with the test's HOME is ended."""
    yield
    from tmux_agency.doors.processes import _all_pids, _environment, end_processes, start_time

    home = str(isolated_home).encode()
    end_processes(
        [(pid, start_time(pid)) for pid in _all_pids() if _environment(pid).get(b"HOME") == home and pid != os.getpid()]
    )


@pytest.fixture
def api(tmp_path: Path):
    server = StandIn(log=str(tmp_path / "api.jsonl")).start()
    yield server
    server.shutdown()


@pytest.fixture
def claude_args() -> str:
    return "--permission-mode default"  # it asks before every tool call


@pytest.fixture
def claude_lab(cli: Cli, api: StandIn, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, claude_args: str) -> Cli:
    """An agency of two real Claude Codes (lead, dev)."""
    claude = real("claude")
    # What a person who has run Claude Code once has; its first-run connectivity check cannot
    # pass without network (recorded: claude@2.1.332/exited.first-run-offline.txt).
    (isolated_home / ".claude.json").write_text('{"hasCompletedOnboarding": true}')
    # The tmux server starts with this environment: the agents inherit it.
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-standin-key-0123456789")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
    monkeypatch.setenv("DISABLE_AUTOUPDATER", "1")
    settings = json.loads(cli.workspace.settings_path.read_text())
    cli.workspace.settings_path.write_text(json.dumps({**settings, "startup_timeout_s": 4}))
    created = cli("create", "Solo", "--coordinator", "lead", "--agents", "dev", "--program", f"{claude} {claude_args}")
    assert created.returncode == 0, created.stderr
    return cli


def pane(cli: Cli, agent: str) -> str:
    view = json.loads(cli("status", "Solo", "--json").stdout)
    return next(a["pane_id"] for a in view["agents"] if a["name"] == agent)


def screen(server: Server, pane_id: str) -> str:
    return "\n".join(server.cmd("capture-pane", "-p", "-t", pane_id).stdout)


def typed_texts(api: StandIn) -> list[str]:
    """Every text Claude sent to the API as typed by the user (the stand-in's reading of it),
    leaving out its own side requests (a title for the session quotes the text in <session>)."""
    from tmux_agency.demo.standin_api import typed_text

    texts = [typed_text(body) for path, body in list(api.requests) if body and "/v1/messages" in path]
    return [t for t in texts if t and not t.lstrip().startswith("<session>")]


def agent_state(cli: Cli, server: Server, agent: str) -> str:
    [view] = Dashboard(cli.workspace, Tmux(server.socket_name)).agencies()
    return next(a.state for a in view.agents if a.name == agent)


def test_claude_a_message_never_answers_its_dialogs_and_arrives_once_they_are_answered(
    claude_lab: Cli, api: StandIn, server: Server
) -> None:
    lead = pane(claude_lab, "lead")
    wait_for(lambda: "trust this folder" in screen(server, lead))
    before = screen(server, lead)
    sent = claude_lab("send", "Solo", "lead", "STATUS from the test: hello Claude")
    assert sent.returncode == 0 and sent.stdout.startswith("queued"), sent.stdout
    assert "trust-folder" in sent.stdout
    time.sleep(1.0)
    assert screen(server, lead) == before, "the trust dialog was left as it was"
    assert agent_state(claude_lab, server, "lead") == "dialog", "the control room shows it needs the person"
    inbox = json.loads(claude_lab("inbox", "Solo", "lead", "--json").stdout)
    assert [m["state"] for m in inbox] == ["queued", "queued"], inbox

    # The person answers: trust the folder, use the key.
    server.cmd("send-keys", "-t", lead, "Down")
    server.cmd("send-keys", "-t", lead, "Enter")
    wait_for(lambda: "Detected a custom API key" in screen(server, lead))
    assert claude_lab("deliver").stdout.startswith("delivered 0"), "the API-key question holds them too"
    server.cmd("send-keys", "-t", lead, "Up")
    server.cmd("send-keys", "-t", lead, "Enter")
    wait_for(lambda: agent_state(claude_lab, server, "lead") == "idle")

    deliver_until_none_wait(claude_lab, "lead")  # the briefing, then (Claude idle again) the message
    wait_for(lambda: sum("hello Claude" in t for t in typed_texts(api)) == 1, timeout=30)
    texts = typed_texts(api)
    assert sum("hello Claude" in t for t in texts) == 1, "the message arrived once"
    states = [m["state"] for m in json.loads(claude_lab("inbox", "Solo", "lead", "--json").stdout)]
    assert states == ["delivered", "delivered"], states


def deliver_until_none_wait(cli: Cli, agent: str, timeout: float = 90) -> None:
    """What `tmux-agency run` does: deliver, again and again, until nothing waits for `agent`."""

    def nothing_waits() -> bool:
        cli("deliver", "Solo")
        inbox = json.loads(cli("inbox", "Solo", agent, "--json").stdout)
        return not any(m["state"] == "queued" for m in inbox)

    wait_for(nothing_waits, timeout=timeout, interval=1.0)


def answer_start_dialogs(cli: Cli, server: Server, agent: str) -> None:
    """What the person does once: trust the folder, use the API key; then the briefing goes in."""
    target = pane(cli, agent)
    wait_for(lambda: "trust this folder" in screen(server, target))
    server.cmd("send-keys", "-t", target, "Down")
    server.cmd("send-keys", "-t", target, "Enter")
    wait_for(lambda: "Detected a custom API key" in screen(server, target))
    server.cmd("send-keys", "-t", target, "Up")
    server.cmd("send-keys", "-t", target, "Enter")
    wait_for(lambda: agent_state(cli, server, agent) == "idle")
    deliver_until_none_wait(cli, agent)
    wait_for(lambda: agent_state(cli, server, agent) == "idle", timeout=60)


@pytest.mark.parametrize("claude_args", ["--permission-mode default --allowedTools Bash"])
def test_claude_runs_the_commands_its_briefing_teaches_and_reaches_the_bus(claude_lab: Cli, server: Server) -> None:
    """Claude Code's Bash tool runs commands in a shell made from a login shell, whose profile
    may reset PATH: the briefing names tmux-agency so that it is found there all the same."""
    from tmux_agency.services.briefings import agent_cli

    answer_start_dialogs(claude_lab, server, "dev")
    briefing = next(
        m for m in json.loads(claude_lab("inbox", "Solo", "dev", "--json").stdout) if m["body"].startswith("#")
    )
    assert f'{agent_cli()} send coordinator "STATUS dev:' in briefing["body"]
    command = f"{agent_cli()} send coordinator 'STATUS dev: reached the bus from inside Claude'"
    assert claude_lab("send", "Solo", "dev", f"tool:bash {command}").returncode == 0
    deliver_until_none_wait(claude_lab, "dev")

    def from_dev() -> list[dict]:
        log = json.loads(claude_lab("log", "--json").stdout)
        return [m for m in log if m["sender_agent"] == "dev" and "reached the bus" in m["body"]]

    [status] = wait_for(from_dev, timeout=60)
    assert (status["sender_agency"], status["recipient_agent"], status["type"]) == ("Solo", "lead", "STATUS")


def test_claude_a_message_sent_while_it_asks_permission_leaves_the_tool_call_unrun(
    claude_lab: Cli, api: StandIn, server: Server, tmp_path: Path
) -> None:
    dev = pane(claude_lab, "dev")
    answer_start_dialogs(claude_lab, server, "dev")
    marker = tmp_path / "the-tool-ran"
    asked = claude_lab("send", "Solo", "dev", f"tool:bash touch {marker}")
    assert asked.returncode == 0, asked.stderr
    deliver_until_none_wait(claude_lab, "dev")
    wait_for(lambda: "Do you want to proceed?" in screen(server, dev), timeout=60)
    before = screen(server, dev)
    held = claude_lab("send", "Solo", "dev", "STATUS while you ask: do not take this as an answer")
    assert held.stdout.startswith("queued") and "permission" in held.stdout, held.stdout
    time.sleep(2.0)
    assert screen(server, dev) == before, "the permission dialog was not answered"
    assert not marker.exists(), "the tool call did not run"
    assert agent_state(claude_lab, server, "dev") == "dialog"


def shows_on(server: Server, target: str, text: str, timeout: float) -> None:
    """Wait until the pane shows `text`; fail with what it shows instead (a CI log is all we see)."""
    deadline = time.monotonic() + timeout
    while text not in (now := screen(server, target)):
        assert time.monotonic() < deadline, f"{text!r} not on screen within {timeout}s; it shows:\n{now}"
        time.sleep(0.1)


def typed_by_path(api: StandIn, reader, path_part: str) -> list[str]:
    """Every text a program sent to the stand-in as typed by its user, read by `reader`."""
    texts = [reader(body) for path, body in list(api.requests) if body and path_part in path]
    return [t for t in texts if t]


def answered_screen(server: Server, target: str, shows: str, keys: list[str]) -> None:
    """The person answers a dialog: wait until it shows `shows`, then press `keys`."""
    wait_for(lambda: shows in screen(server, target), timeout=60)
    time.sleep(0.5)  # the dialog takes keys once it has finished drawing
    for key in keys:
        server.cmd("send-keys", "-t", target, key)
        time.sleep(0.4)


def held_untouched(cli: Cli, server: Server, agent: str, dialog: str, text: str) -> None:
    """A message sent while `dialog` is up stays queued, the screen stays as it was, and the
    control room says the agent needs the person."""
    target = pane(cli, agent)
    before = screen(server, target)
    sent = cli("send", "Solo", agent, text)
    assert sent.returncode == 0 and sent.stdout.startswith("queued") and dialog in sent.stdout, sent.stdout
    time.sleep(1.5)
    assert screen(server, target) == before, f"the {dialog} dialog was left as it was"
    assert agent_state(cli, server, agent) == "dialog", "the control room shows it needs the person"


@pytest.fixture
def codex_lab(cli: Cli, api: StandIn, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """An agency of two real Codex CLIs (lead, dev) whose model provider is the stand-in."""
    codex = real("codex")
    (isolated_home / ".codex").mkdir()
    (isolated_home / ".codex" / "config.toml").write_text(real_clis.CODEX_STANDIN_CONFIG.replace("{api}", api.url))
    monkeypatch.setenv("STANDIN_API_KEY", "sk-standin-key-0123456789")
    monkeypatch.setenv("NO_UPDATE_NOTIFIER", "1")
    settings = json.loads(cli.workspace.settings_path.read_text())
    cli.workspace.settings_path.write_text(json.dumps({**settings, "startup_timeout_s": 4}))
    created = cli("create", "Solo", "--coordinator", "lead", "--agents", "dev", "--program", str(codex))
    assert created.returncode == 0, created.stderr
    return cli


def test_codex_a_message_never_answers_its_trust_dialog_and_arrives_once_it_is_answered(
    codex_lab: Cli, api: StandIn, server: Server
) -> None:
    from tmux_agency.demo.standin_api import responses_typed_text

    lead = pane(codex_lab, "lead")
    shows_on(server, lead, "Trust this folder?", timeout=60)
    time.sleep(1.0)
    # Codex's default answer is "Trust and continue": an Enter typed after a message would take it.
    held_untouched(codex_lab, server, "lead", "trust-folder", "STATUS from the test: hello Codex")
    # Codex shows its composer a second or two before it asks: a briefing typed then is held by
    # Codex itself until the folder is trusted (seen with 0.171.0), else it waits in our queue.
    assert not typed_by_path(api, responses_typed_text, "/responses"), "nothing reached the model before the answer"

    answered_screen(server, lead, "Trust this folder?", ["Enter"])
    wait_for(lambda: agent_state(codex_lab, server, "lead") == "idle", timeout=60)
    deliver_until_none_wait(codex_lab, "lead")

    def texts() -> list[str]:  # leaving out its own side requests (a title for the task quotes the text)
        return [
            t for t in typed_by_path(api, responses_typed_text, "/responses") if not t.startswith("Generate a concise")
        ]

    wait_for(lambda: sum("hello Codex" in t for t in texts()) >= 1, timeout=60)
    time.sleep(2.0)
    assert sum("hello Codex" in t for t in texts()) == 1, texts()
    assert sum(t.startswith("# ") for t in texts()) == 1, ("the briefing arrived once", texts())
    inbox = json.loads(codex_lab("inbox", "Solo", "lead", "--json").stdout)  # the briefing is in it if it was queued
    assert {m["state"] for m in inbox} == {"delivered"} and any("hello Codex" in m["body"] for m in inbox), inbox

    # Codex started a background server (`codex app-server`), outside the panes' process tree.
    home = os.environ["HOME"]
    assert codex_servers(home), "Codex runs its app-server"
    killed = codex_lab("kill", "Solo")
    assert killed.returncode == 0, killed.stderr
    wait_for(lambda: not codex_servers(home), timeout=10)


def codex_servers(home: str) -> list[int]:
    from tmux_agency.doors.processes import _all_pids, _environment, _proc_args

    return [
        pid
        for pid in _all_pids()
        if "app-server" in (_proc_args(pid) or "") and _environment(pid).get(b"HOME") == home.encode()
    ]


@pytest.fixture
def gemini_lab(cli: Cli, api: StandIn, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """An agency of two real Gemini CLIs (lead, dev) whose API is the stand-in."""
    gemini = real("gemini")
    # As on a CI runner: Gemini CLI runs headless (draws nothing) when it sees CI=true, so its
    # profile keeps that out of its panes, whatever environment tmux hands them.
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("GEMINI_API_KEY", "standin-key-0123456789")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", api.url)
    monkeypatch.setenv("NO_UPDATE_NOTIFIER", "1")
    settings = json.loads(cli.workspace.settings_path.read_text())
    cli.workspace.settings_path.write_text(json.dumps({**settings, "startup_timeout_s": 4}))
    created = cli("create", "Solo", "--coordinator", "lead", "--agents", "dev", "--program", str(gemini))
    assert created.returncode == 0, created.stderr
    return cli


def test_gemini_a_message_never_answers_its_first_run_dialogs_and_arrives_once_they_are_answered(
    gemini_lab: Cli, api: StandIn, server: Server
) -> None:
    from tmux_agency.demo.standin_api import gemini_typed_text

    lead = pane(gemini_lab, "lead")
    shows_on(server, lead, "Do you trust the files in this folder?", timeout=60)
    time.sleep(1.0)
    held_untouched(gemini_lab, server, "lead", "trust-folder", "STATUS from the test: hello Gemini")
    answered_screen(server, lead, "Do you trust the files in this folder?", ["Enter"])
    wait_for(lambda: "How would you like to authenticate" in screen(server, lead), timeout=60)
    time.sleep(1.0)
    held_untouched(gemini_lab, server, "lead", "auth", "STATUS from the test: second while it asks how to sign in")
    answered_screen(server, lead, "How would you like to authenticate", ["Enter"])
    # The key box: whatever is typed there is saved as the key (seen with 0.61.0).
    wait_for(lambda: "Enter Gemini API Key" in screen(server, lead), timeout=60)
    time.sleep(1.0)
    held_untouched(gemini_lab, server, "lead", "api-key", "STATUS from the test: third at the key box")
    assert gemini_lab("deliver").stdout.startswith("delivered 0")
    answered_screen(server, lead, "Enter Gemini API Key", ["Enter"])

    wait_for(lambda: agent_state(gemini_lab, server, "lead") == "idle", timeout=60)
    deliver_until_none_wait(gemini_lab, "lead", timeout=120)
    texts = lambda: typed_by_path(api, gemini_typed_text, "GenerateContent")  # noqa: E731
    wait_for(lambda: sum("third at the key box" in t for t in texts()) >= 1, timeout=60)
    time.sleep(2.0)
    for said in ("hello Gemini", "second while it asks", "third at the key box"):
        assert sum(said in t for t in texts()) == 1, (said, texts())
    assert sum(t.startswith("#") for t in texts()) == 1, "the briefing arrived once"
    states = [m["state"] for m in json.loads(gemini_lab("inbox", "Solo", "lead", "--json").stdout)]
    assert states == ["delivered"] * 4, states

    # Gemini CLI restarts itself after the trust dialog, as a child process: kill ends it too.
    home = os.environ["HOME"].encode()
    assert gemini_lab("kill", "Solo").returncode == 0

    def geminis() -> list[int]:
        from tmux_agency.doors.processes import _all_pids, _environment, _proc_args

        return [p for p in _all_pids() if "gemini" in (_proc_args(p) or "") and _environment(p).get(b"HOME") == home]

    wait_for(lambda: not geminis(), timeout=10)
