"""A long history costs only what is shown: `inbox` and `log` read the history from its end.

Not timed (bench/scale.py measures time): these hold that the newest messages read backwards are
exactly what folding the whole history gives, and that the commands answer with less memory than
the history's size."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sample_registry import populate
from tmux_agency.doors.chain import HISTORY
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace, init_workspace
from tmux_agency.services.bus import Bus, fold_history, newest_messages


def _bus(root: Path, messages: int) -> Bus:
    init_workspace(root)
    ws = Workspace(root)
    populate(ws, agencies=6, agents_per_agency=3, messages=messages, tasks=10, approvals=1)
    return Bus(ws, Tmux("tmux-agency-test-no-server"))


def test_the_newest_messages_read_backwards_are_what_the_whole_history_folds_to(tmp_path: Path) -> None:
    bus = _bus(tmp_path / "ws", 3000)
    everything = fold_history(bus.events()[0])
    waiting = [m for m in everything if m.state == "queued"]
    # Every way a state can move, on top of what populate wrote (delivered, acknowledged, queued):
    bus._record_state(waiting[0].id, "uncertain", "the pane did not show it")
    bus._record_state(waiting[0].id, "delivered")  # uncertain, then seen: delivered
    bus._record_state(waiting[1].id, "dropped", "its agency was killed")
    bus._record_state(waiting[1].id, "delivered")  # dropped stays dropped
    bus._record_state(waiting[2].id, "uncertain", "killed mid-delivery")
    delivered = next(m for m in everything if m.state == "acknowledged")
    bus._record_state(delivered.id, "uncertain", "a late claim")  # an acknowledged one stays so
    bus.registry.path(HISTORY).open("ab").write(b'{"seq": 99999999, "event": "message", "mess')  # a writer at work
    everything = fold_history(bus.events()[0])
    states = {m.state for m in everything}
    assert {"queued", "delivered", "acknowledged", "uncertain", "dropped"} <= states, states

    def dump(messages: list) -> list[dict]:
        return [m.model_dump(mode="json") for m in messages]

    whole = bus.newest(None)
    assert dump(whole.messages) == dump(everything) and not whole.more
    for agency in ("CodeAgency", "QAAgency", "Nowhere"):
        for limit in (1, 7, 500, None):
            found = bus.newest(limit, lambda m, a=agency: a in (m.get("sender_agency"), m.get("recipient_agency")))
            expected = [m for m in everything if agency in (m.sender_agency, m.recipient_agency)]
            assert dump(found.messages) == dump(expected[-limit:] if limit else expected), (agency, limit)
            assert found.more == (limit is not None and len(expected) >= limit and len(expected) > 0)
    # Reading it from the lines directly gives the same, whatever the block size.
    lines = bus.registry.lines_backward(HISTORY, chunk=97)
    assert dump(newest_messages(lines, None, None).messages) == dump(everything)


def _limited(megabytes: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))

    return limit


def test_inbox_and_log_answer_within_less_memory_than_the_history_holds(tmp_path: Path) -> None:
    """With an address space smaller than the history file, reading the whole history would
    fail (MemoryError): the commands read only the newest lines they show."""
    bus = _bus(tmp_path / "ws", 130_000)
    size_mb = bus.registry.size(HISTORY) >> 20
    cap_mb = 100
    assert size_mb > cap_mb, size_mb
    env = {
        "TMUX_AGENCY_HOME": str(bus.ws.root),
        "TMUX_AGENCY_SOCKET": "tmux-agency-test-no-server",
        "PATH": "/usr/bin:/bin",
    }

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "tmux_agency", *args],
            env=env,
            capture_output=True,
            text=True,
            preexec_fn=_limited(cap_mb),
            timeout=120,
        )
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    everything = fold_history(bus.events()[0])
    to_qa = [m.model_dump(mode="json") for m in everything if m.recipient_agency == "QAAgency"]
    assert json.loads(run("inbox", "QAAgency", "-n", "5", "--json")) == to_qa[-5:]
    about_qa = [m for m in everything if "QAAgency" in (m.sender_agency, m.recipient_agency)]
    assert json.loads(run("log", "--agency", "QAAgency", "--json")) == [
        m.model_dump(mode="json") for m in about_qa[-50:]
    ]
    shown = run("log", "-n", "3").splitlines()
    assert shown[0].startswith("(older messages not shown") and len(shown) == 4
    assert everything[-1].body.split("\n")[0][:40] in shown[-1]


@pytest.mark.parametrize("args", [["inbox", "QAAgency", "-n", "0"], ["log", "--limit", "-3"], ["log", "-n", "many"]])
def test_a_limit_that_is_not_a_positive_number_is_refused(cli_no_tmux, args: list[str]) -> None:
    init = cli_no_tmux("init")
    assert init.returncode == 0, init.stderr
    result = cli_no_tmux(*args)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
