"""`tmux-agency demo --headless`: the whole story on a real isolated tmux server, to the approval
queue — real git commits by the scripted cast, real pytest runs, real messages and sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from libtmux import Server

from .helpers import REPO


def demo(tmp_path: Path, socket: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tmux_agency",
            "demo",
            "--headless",
            "--dir",
            str(tmp_path / "demo"),
            "--socket",
            socket,
            "--pace",
            "0.05",
            "--timeout",
            "180",
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_headless_demo_reaches_the_approval_queue(tmp_path: Path, server: Server) -> None:
    result = demo(tmp_path, server.socket_name, "--json")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)

    # The story's traffic: a TASK down each agency, STATUS and COMPLETE back up, two rounds.
    by_type = facts["messages_by_type"]
    assert by_type["TASK"] >= 4 and by_type["STATUS"] >= 4 and by_type["COMPLETE"] >= 4
    assert [(h["from"], h["to"], h["branch"]) for h in facts["handoffs"]] == [
        ("CodeAgency", "QAAgency", "feature/slugify")
    ] * 2
    first, second = facts["results"]
    assert (first["status"], first["issues_found"]) == ("failed", 1), "QA finds the real bug the first time"
    assert "test_punctuation_is_dropped" in first["details"]
    assert (second["status"], second["issues_found"]) == ("passed", 0)

    # The task graph: the demo's task waits for review; the one after it (DocsAgency is not
    # running in the demo) waits for it.
    states = {t["id"]: (t["agency"], t["state"]) for t in facts["tasks"]}
    assert states == {"T-1": ("CodeAgency", "in_review"), "T-2": ("DocsAgency", "submitted")}

    # The sandbox's facts about the fixed branch, waiting for a human.
    item = facts["approval"]
    assert (item["agency"], item["branch"], item["status"]) == ("CodeAgency", "feature/slugify", "pending")
    assert item["title"].startswith("T-1: add slugify(text)"), "named after the task it delivers"
    assert item["tests"]["passed"] == 3 and item["tests"]["failed"] == 0
    assert item["files_changed"] == 2 and item["additions"] > 0

    # Real commits in the demo project, by the agent, on the branch.
    project = Path(facts["project"])
    log = subprocess.run(
        ["git", "-C", str(project), "log", "--format=%an: %s", "main..feature/slugify"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert log == [
        "python-agent: Drop punctuation in slugify(), as QA asked",
        "python-agent: Add slugify() with a test",
    ]

    # Headless cleans up after itself: the demo's agencies are gone from the tmux server.
    assert not any(s.name in ("CodeAgency", "QAAgency") for s in server.sessions)


def test_the_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path, server: Server) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "precious.txt").write_text("keep me")
    result = demo(tmp_path, server.socket_name)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "is not empty" in result.stderr
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["precious.txt"]
