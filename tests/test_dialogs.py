"""A program that opens with a dialog (trust this folder) on a real tmux server: its briefing
waits for the person to answer, is never typed into the dialog, and a briefing the dialog held
past the start-up time is queued and delivered once it is gone. Messages wait the same way."""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from libtmux import Server

from .helpers import Cli, wait_for

FAKE_CLI = Path(__file__).resolve().parent / "data" / "fake_cli.py"


@pytest.fixture
def trusty(cli: Cli, tmp_path: Path) -> Path:
    """Agency Trusty: one coordinator running the fake CLI, described by a workspace profile."""
    ws = cli.workspace
    (ws.root / "profiles").mkdir()
    (ws.root / "profiles" / "fakecli.json").write_text(
        json.dumps(
            {
                "name": "fakecli",
                "start": f"{sys.executable} {FAKE_CLI}",
                "command": r"fake_cli\.py",
                "process": r"fake_cli\.py",
                "ready": "^fake>",
                "submit_delay_ms": 50,
                "states": {"idle": ["^fake>\\Z"]},
                "dialogs": [
                    {
                        "name": "trust",
                        "match": [r"Do you trust this folder\?"],
                        "action": "press y in the pane to trust the folder.",
                    },
                    {
                        "name": "permission",
                        "match": [r"Allow this action\?"],
                        "action": "press y in the pane to allow it.",
                    },
                ],
            }
        )
    )
    folder = ws.agency_dir("Trusty")
    folder.mkdir(parents=True)
    (folder / "agency.json").write_text(
        json.dumps(
            {
                "name": "Trusty",
                "coordinator": {"name": "lead", "program": f"{sys.executable} {FAKE_CLI}"},
            }
        )
    )
    log = tmp_path / "fake-cli.log"
    log.touch()
    cli.env["FAKE_CLI_LOG"] = str(log)
    return log


def set_startup_timeout(cli: Cli, seconds: float) -> None:
    path = cli.workspace.settings_path
    path.write_text(json.dumps(json.loads(path.read_text()) | {"startup_timeout_s": seconds}))


def lead_pane(server: Server) -> str | None:
    out = server.cmd("list-panes", "-t", "=Trusty:0", "-F", "#{pane_id}").stdout
    return out[0] if out else None


def screen(server: Server, pane_id: str) -> str:
    return "\n".join(server.cmd("capture-pane", "-p", "-t", pane_id).stdout)


def log_lines(log: Path) -> list[str]:
    return log.read_text().splitlines()


def test_the_briefing_waits_for_the_dialog_and_is_never_typed_into_it(cli: Cli, server: Server, trusty: Path) -> None:
    set_startup_timeout(cli, 60)
    with ThreadPoolExecutor(1) as pool:
        creating = pool.submit(cli, "create", "Trusty")
        pane = wait_for(lambda: lead_pane(server))
        wait_for(lambda: "Do you trust this folder?" in screen(server, pane))
        # create polls the pane every 0.1 s: give it many chances to get it wrong.
        time.sleep(1.5)
        assert not creating.done()
        assert log_lines(trusty) == []
        server.cmd("send-keys", "-t", pane, "y")  # the person answers
        result = creating.result(timeout=60)
    assert result.returncode == 0, result.stderr
    assert "waiting for you: press y in the pane" in result.stderr
    assert "not briefed" not in result.stderr
    lines = log_lines(trusty)
    assert lines[0] == "ANSWER trust y"
    assert [line for line in lines[1:] if line.startswith("MESSAGE # ")] == lines[1:] and len(lines) == 2
    assert not any(line.startswith("DIALOG-INPUT") for line in lines)


def test_a_briefing_held_past_the_start_up_time_is_queued_and_delivered_after_the_answer(
    cli: Cli, server: Server, trusty: Path
) -> None:
    set_startup_timeout(cli, 2)
    result = cli("create", "Trusty")
    assert result.returncode == 0, result.stderr
    # One line says which dialog holds the briefing and what to do.
    held = [line for line in result.stderr.splitlines() if "not briefed" in line]
    assert len(held) == 1 and "fakecli shows a dialog (trust): press y in the pane" in held[0], result.stderr
    inbox = json.loads(cli("inbox", "Trusty", "lead", "--json").stdout)
    assert [(m["state"], m["type"]) for m in inbox] == [("queued", "NOTE")]
    assert "dialog (trust)" in inbox[0]["reason"]

    assert cli("deliver").returncode == 0  # the dialog still shows: nothing is typed
    assert log_lines(trusty) == []

    pane = lead_pane(server)
    assert pane is not None
    server.cmd("send-keys", "-t", pane, "y")
    wait_for(lambda: "fake>" in screen(server, pane))
    run = cli("run", "--once")
    assert run.returncode == 0, run.stderr
    lines = log_lines(trusty)
    assert lines[0] == "ANSWER trust y" and lines[1].startswith("MESSAGE # ") and len(lines) == 2

    # Later a permission question: a message waits for it, queued, and goes in after the answer.
    assert cli("send", "Trusty", "lead", "ASK").returncode == 0
    wait_for(lambda: "Allow this action?" in screen(server, pane))
    sent = cli("send", "Trusty", "lead", "TASK-2: write the tests", "--json")
    assert sent.returncode == 0, sent.stderr
    message = json.loads(sent.stdout)[0]
    assert message["state"] == "queued" and "dialog (permission)" in message["reason"]
    assert not any(line.startswith("DIALOG-INPUT") for line in log_lines(trusty))
    server.cmd("send-keys", "-t", pane, "y")
    wait_for(lambda: "fake>" in screen(server, pane))
    assert "delivered 1" in cli("deliver").stdout
    assert log_lines(trusty)[-2:] == ["ANSWER permission y", "MESSAGE TASK-2: write the tests (1 lines)"]
    assert not any(line.startswith("DIALOG-INPUT") for line in log_lines(trusty))


def test_a_dialog_raised_between_the_paste_and_the_enter_is_not_answered(
    cli: Cli, server: Server, trusty: Path
) -> None:
    """The screen is read again just before Enter: a program that raises a dialog after the text
    went in (Codex asks to trust the folder a moment after its composer shows) gets no Enter, and
    the text, left in its input, is never typed again."""
    cli.env["FAKE_CLI_DIALOG_AFTER_PASTE"] = "1"
    set_startup_timeout(cli, 1)
    assert cli("create", "Trusty").returncode == 0
    pane = lead_pane(server)
    assert pane is not None
    server.cmd("send-keys", "-t", pane, "y")  # the person trusts the folder; the briefing waits
    wait_for(lambda: "fake>" in screen(server, pane))
    assert cli("deliver").returncode == 0
    wait_for(lambda: "Allow this action?" in screen(server, pane))
    inbox = json.loads(cli("inbox", "Trusty", "lead", "--json").stdout)
    assert [m["state"] for m in inbox] == ["uncertain"], inbox
    assert "raised a dialog (permission) before it was submitted" in inbox[0]["reason"]
    assert log_lines(trusty) == ["ANSWER trust y"], "no Enter reached the dialog"
    assert cli("deliver").returncode == 0 and cli("send", "Trusty", "lead", "next").returncode == 0
    assert log_lines(trusty) == ["ANSWER trust y"], "nothing typed into the dialog, the briefing not retyped"
