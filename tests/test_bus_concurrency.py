"""Many senders at once, and senders killed mid-send: nothing lost, nothing twice, files valid."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from libtmux import Server

from tmux_agency.doors.chain import verify
from tmux_agency.doors.registry import MESSAGES, Registry
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace
from tmux_agency.services.bus import Bus

from .helpers import Cli, wait_for

TARGETS = [("Alpha", "a1"), ("Alpha", "a2"), ("Beta", "b1"), ("Beta", "b2")]


@pytest.fixture
def agencies(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    transcripts = tmp_path / "transcripts"
    monkeypatch.setenv("TMUX_AGENCY_AGENT_TRANSCRIPT", str(transcripts))
    assert cli("create", "Alpha", "--agents", "a1,a2").returncode == 0
    assert cli("create", "Beta", "--agents", "b1,b2").returncode == 0
    return transcripts


def _sender(root: str, socket: str, worker: int, count: int, out: str | None) -> None:
    bus = Bus(Workspace(Path(root)), Tmux(socket))
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if out else None
    for n in range(count):
        agency, agent = TARGETS[(worker + n) % len(TARGETS)]
        result = bus.send(agency, agent, f"STATUS w{worker:02d} n{n:03d}", sender=(None, "human"))
        if fd is not None:  # the send returned: from here on it must never be lost
            os.write(fd, (result.messages[0]["id"] + "\n").encode())


def received_texts(transcripts: Path) -> list[str]:
    texts = []
    for path in transcripts.glob("*.jsonl"):
        texts += [json.loads(line)["text"] for line in path.read_text().splitlines()]
    return [t for t in texts if t.startswith("STATUS w")]


def test_32_processes_sending_100_each_are_persisted_and_delivered_exactly_once(
    cli: Cli, server: Server, agencies: Path
) -> None:
    ctx = multiprocessing.get_context("fork")
    workers = [
        ctx.Process(target=_sender, args=(str(cli.workspace.root), server.socket_name, w, 100, None)) for w in range(32)
    ]
    for p in workers:
        p.start()
    for p in workers:
        p.join(600)
        assert p.exitcode == 0
    bus = Bus(cli.workspace, Tmux(server.socket_name))
    events, _ = bus.events()
    verdict = verify(bus.registry)
    assert (verdict.problem, verdict.events, verdict.past_head) == (None, len(events), [])
    sent = [e["message"]["body"] for e in events if e["event"] == "message"]
    expected = {f"STATUS w{w:02d} n{n:03d}" for w in range(32) for n in range(100)}
    assert len(sent) == 3200 and set(sent) == expected, "every send persisted exactly once"
    delivered = Counter(e["id"] for e in events if e["event"] == "state" and e["state"] == "delivered")
    assert len(delivered) == 3200 and set(delivered.values()) == {1}, "each delivered once"
    assert Registry(cli.workspace.registry_dir).snapshot(MESSAGES).all() == []
    # What reached the panes: each text whole (concurrent senders never interleaved), once.
    got = wait_for(lambda: (texts := received_texts(agencies)) and len(texts) >= 3200 and texts, timeout=60)
    assert Counter(got) == Counter(expected)


def test_senders_killed_at_random_moments_lose_no_send_that_returned(
    cli: Cli, server: Server, agencies: Path, tmp_path: Path
) -> None:
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(7)
    outs = []
    for round_ in range(3):
        workers = []
        for w in range(8):
            out = str(tmp_path / f"returned-{round_}-{w}.txt")
            outs.append(out)
            worker = round_ * 8 + w
            workers.append(
                ctx.Process(target=_sender, args=(str(cli.workspace.root), server.socket_name, worker, 1000, out))
            )
        for p in workers:
            p.start()
        time.sleep(1.0)
        for p in workers:
            time.sleep(rng.uniform(0, 0.3))
            os.kill(p.pid, signal.SIGKILL)
        for p in workers:
            p.join()
    returned = [line for out in outs if os.path.exists(out) for line in Path(out).read_text().split()]
    assert len(returned) > 20, "the senders had time to send"

    bus = Bus(cli.workspace, Tmux(server.socket_name))
    Registry(cli.workspace.registry_dir).snapshot(MESSAGES).all()  # the queue file loads
    events, _ = bus.events()
    assert verify(bus.registry).problem is None, "the chain and its head hold across killed writers"
    persisted = {e["message"]["id"] for e in events if e["event"] == "message"}
    assert set(returned) <= persisted
    assert len(persisted) == len([e for e in events if e["event"] == "message"]), "no message twice"
    # And the bus works on: queued leftovers go out, new sends go through.
    assert cli("deliver").returncode == 0
    assert cli("send", "Alpha", "a1", "STATUS after the storm").returncode == 0
