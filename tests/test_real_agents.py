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

from tmux_agency.dashboard import Dashboard
from tmux_agency.standin_api import StandIn
from tmux_agency.tmux import Tmux

from . import real_clis
from .helpers import Cli, wait_for


def real(program: str) -> Path:
    found = real_clis.executable(program)
    if found is None:
        if os.environ.get("TMUX_AGENCY_NO_REAL_CLIS") == "1":
            pytest.skip(f"{program} not installed, and TMUX_AGENCY_NO_REAL_CLIS=1")
        pytest.fail(f"{program} {real_clis.version_of(program)} is not installed: python tests/real_clis.py install")
    return found


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
    from tmux_agency.standin_api import typed_text

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
    assert [m["state"] for m in inbox] == ["queued", "queued"], "the briefing waits too"

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
    from tmux_agency.briefings import agent_cli

    answer_start_dialogs(claude_lab, server, "dev")
    briefing = next(m for m in json.loads(claude_lab("inbox", "Solo", "dev", "--json").stdout) if m["body"].startswith("#"))
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
