"""`tmux-agency demo`: the whole story, live, in a fresh workspace — no AI CLI needed.

A small project (`textkit`, one module and its tests) becomes a git repository; CodeAgency and
QAAgency start on their own tmux server with the scripted agents playing the demo's cast
(cast.py); the human's TASK goes to CodeAgency, and the agencies take it from there to the
approval queue. `demo` then opens the control room on it; `--headless` waits for the approval
item instead and prints what happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace, init_workspace
from tmux_agency.models.errors import UsageError, WorldError

CAST = {"CodeAgency": ["python-agent"], "QAAgency": ["qa-engineer"]}
FIRST_TASK = "add slugify(text) to textkit.py — 'Hello, World!' must become 'hello-world' — with tests"
# Waits for the first; DocsAgency is not started in the demo, so it shows a dependency that stays open.
SECOND_TASK = "document slugify() in the README"

TEXTKIT = '''"""textkit: small helpers for text."""


def word_count(text):
    """How many words `text` has."""
    return len(text.split())
'''
TEST_TEXTKIT = """from textkit import word_count


def test_word_count():
    assert word_count("two words") == 2
"""


def make_project(folder: Path) -> Path:
    """The demo project: a git repository with one module and a passing test on `main`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "textkit.py").write_text(TEXTKIT, encoding="utf-8")
    (folder / "test_textkit.py").write_text(TEST_TEXTKIT, encoding="utf-8")
    (folder / ".gitignore").write_text("__pycache__/\n.coverage\ncoverage.xml\n", encoding="utf-8")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "demo",
        "GIT_AUTHOR_EMAIL": "demo@example.invalid",
        "GIT_COMMITTER_NAME": "demo",
        "GIT_COMMITTER_EMAIL": "demo@example.invalid",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "textkit: word_count"]):
        result = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise WorldError(f"demo: git {args[0]} failed: {result.stderr.strip()}")
    return folder


def build_workspace(root: Path) -> Workspace:
    """A fresh workspace at root/workspace for the demo project at root/project."""
    if root.exists() and any(root.iterdir()):
        raise UsageError(f"{root} is not empty: the demo builds a fresh workspace (pick an empty or new folder)")
    try:
        import pytest  # noqa: F401 - the story runs the project's tests
    except ImportError:
        raise UsageError("the demo runs the project's tests with pytest: install it (pip install pytest)") from None
    project = make_project(root / "project")
    ws, _ = init_workspace(root / "workspace", project)
    # The sandbox runs the tests with this interpreter, which has pytest.
    spec = ws.agency_dir("CodeAgency") / "agency.json"
    import json

    data = json.loads(spec.read_text(encoding="utf-8"))
    data["sandbox"]["test_command"] = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    spec.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return ws


def start(ws: Workspace, tmux: Tmux, pace_s: float, progress=lambda line: None) -> None:
    """Start the two agencies with the demo's cast; the task graph sends CodeAgency the first TASK."""
    from tmux_agency.services.agencies import create_agency
    from tmux_agency.services.tasks.lifecycle import add_task

    # Panes inherit TMUX_AGENCY_* from here (agencies.pane_environment).
    os.environ["TMUX_AGENCY_CAST"] = "demo"
    os.environ["TMUX_AGENCY_AGENT_PACE"] = str(pace_s)
    for name, agents in CAST.items():
        create_agency(ws, tmux, name, agents=agents, progress=progress)
    first = add_task(ws, tmux, FIRST_TASK, agency="CodeAgency", priority="high")
    second = add_task(ws, tmux, SECOND_TASK, agency="DocsAgency", after=[first.task.id])
    progress(f"task {first.task.id} for CodeAgency: {FIRST_TASK} (sent: {', '.join(first.sent) or 'no'})")
    progress(f"task {second.task.id} for DocsAgency, after {first.task.id}: {SECOND_TASK}")


def wait_for_approval(ws: Workspace, timeout_s: float, progress=lambda line: None):
    """The first pending approval item, once the story reaches the queue (None on timeout)."""
    from tmux_agency.services.approvals import items

    deadline = time.monotonic() + timeout_s
    seen = 0
    while time.monotonic() < deadline:
        seen = _report_new(ws, seen, progress)
        pending = items(ws)
        if pending:
            _report_new(ws, seen, progress)
            return pending[0]
        time.sleep(0.5)
    return None


def _history(ws: Workspace) -> list:
    from tmux_agency.services.bus import Bus

    return Bus(ws, Tmux()).history()  # reading the history needs no tmux server


def _report_new(ws: Workspace, seen: int, progress) -> int:
    messages = _history(ws)
    for message in messages[seen:]:
        text = message.body if message.kind == "intra" else f"{message.type} {message.body}"
        sender = "/".join(part for part in (message.sender_agency, message.sender_agent) if part) or "human"
        progress(f"  {sender} → {message.recipient_agency}/{message.recipient_agent}: {' '.join(text.split())[:110]}")
    return len(messages)


def summary(ws: Workspace) -> dict[str, Any]:
    """What happened: messages by type, the handoffs and results, the tasks, the approval item."""
    from tmux_agency.services.approvals import items

    messages = _history(ws)
    inter = [m for m in messages if m.kind == "inter"]
    approval = next(iter(items(ws, status=None)), None)
    return {
        "workspace": str(ws.root),
        "project": str(ws.project_dir()),
        "messages": len(messages),
        "messages_by_type": dict(Counter(m.type for m in messages)),
        "handoffs": [_flow(m) for m in inter if m.type == "handoff"],
        "results": [_flow(m) for m in inter if m.type == "results"],
        "tasks": _tasks(ws),
        "approval": approval.model_dump(mode="json") if approval else None,
    }


def _flow(message) -> dict[str, Any]:
    payload = message.payload or {}
    return {
        "from": message.sender_agency,
        "to": message.recipient_agency,
        "time": message.time.isoformat(),
        **{k: payload[k] for k in ("task", "branch", "status", "issues_found", "details") if k in payload},
    }


def _tasks(ws: Workspace) -> list[dict[str, Any]]:
    from tmux_agency.doors.registry import TASKS, Registry

    return [
        {"id": t.get("id"), "title": t.get("title"), "agency": t.get("agency"), "state": t.get("state")}
        for t in Registry(ws.registry_dir).documents(TASKS)
    ]


def render_summary(facts: dict[str, Any]) -> str:
    lines = [f"demo workspace {facts['workspace']} (project {facts['project']})", ""]
    by_type = ", ".join(f"{count} {kind}" for kind, count in sorted(facts["messages_by_type"].items()))
    lines.append(f"messages: {facts['messages']} ({by_type})")
    for flow in facts["handoffs"]:
        lines.append(f"handoff: {flow['from']} → {flow['to']}: {flow.get('task', '')} {flow.get('branch', '')}")
    for flow in facts["results"]:
        found = f", {flow['issues_found']} issue(s) found" if flow.get("issues_found") else ""
        lines.append(f"results: {flow['from']} → {flow['to']}: {flow.get('task', '')} {flow.get('status', '')}{found}")
    for task in facts["tasks"]:
        lines.append(f"task {task['id']}: {task['title']} ({task['agency']}) — {task['state']}")
    item = facts["approval"]
    if item is None:
        lines.append("approval queue: empty — the story did not reach it")
    else:
        tests = item["tests"]
        coverage = f" · {item['coverage']:g}% coverage" if item.get("coverage") is not None else ""
        lines += [
            f"approval #{item['id']} (rev {item['revision']}, {item['status']}): {item['agency']}: {item['title']}",
            f"  branch {item['branch']} → {item['base']} · commit {item['commit'][:10]}",
            f"  tests {tests['passed']} passed, {tests['failed']} failed{coverage}",
            f"  files {item['files_changed']} changed, +{item['additions']} -{item['deletions']}",
        ]
    return "\n".join(lines)
