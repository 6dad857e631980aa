"""The demo's cast: what the scripted agents do in `tmux-agency demo`, role by role.

The story (see demo.py): the human gives CodeAgency a TASK; its coordinator hands it to the
python-agent, who writes `slugify()` on a branch — with a bug — and reports COMPLETE; the
coordinator hands the branch off to QAAgency; QA's engineer tests it with an edge case of its
own, finds the bug, and QA sends `results` with `issues_found`; CodeAgency fixes it; QA passes
it; CodeAgency deploys the branch to the sandbox, which puts it on the approval queue. A
rejection there comes back as a TASK, and the round runs again with the feedback.

Every step is real: git branches and commits in the demo project, pytest runs, messages through
`tmux-agency send` / `send-inter`, the sandbox's own deploy. Each role waits `pace` seconds
before it acts, so a person watching the control room can follow.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

TASK = "T-1"  # the task graph's id for the demo's task, unless the TASK text names another
BRANCH = "feature/slugify"
QA_TEST = "test_qa_slugify.py"

# Round one: the plain version a hurried developer writes (punctuation survives).
SLUGIFY_FIRST = '''

def slugify(text):
    """'Hello World' -> 'hello-world'."""
    return "-".join(text.lower().split())
'''
# The fix, after QA's report: only letters and digits survive, runs of anything else become '-'.
SLUGIFY_FIXED = '''

def slugify(text):
    """'Hello, World!' -> 'hello-world': letters and digits, words joined by '-'."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
'''
TEST_FIRST = """from textkit import slugify


def test_slugify_joins_words():
    assert slugify("Hello World") == "hello-world"
"""
TEST_FIXED = (
    TEST_FIRST
    + """

def test_slugify_drops_punctuation():
    assert slugify("Hello, World!") == "hello-world"
"""
)
QA_TEST_TEXT = """from textkit import slugify


def test_punctuation_is_dropped():
    assert slugify("Hello, World!") == "hello-world"


def test_spaces_at_the_ends():
    assert slugify("  Tidy up  ") == "tidy-up"
"""


class Actor(Protocol):
    """What the cast needs of the scripted agent playing the role."""

    agency: str | None
    name: str
    pace_s: float

    def say(self, line: str) -> None: ...
    def send(self, to: str, text: str) -> None: ...
    def is_coordinator(self) -> bool: ...


def task_of(text: str, payload: dict[str, Any] | None = None) -> str:
    """The task a message is about: the payload's `task`, or the id in 'TASK-T-1: …'."""
    if payload and payload.get("task"):
        return str(payload["task"])
    match = re.search(r"\bTASK-([A-Za-z]+-\d+|\d+)\b|\b(T-\d+)\b", text)
    return (match.group(1) or match.group(2)) if match else TASK


def react(actor: Actor, text: str, inter: dict[str, Any] | None) -> bool:
    """Play the actor's part for one message; False when the message is not part of the story."""
    role = (actor.agency or "", "coordinator" if actor.is_coordinator() else actor.name)
    handler = _ROLES.get(role)
    if handler is None:
        return False
    time.sleep(actor.pace_s)
    return handler(actor, text.strip(), inter)


# --- CodeAgency ------------------------------------------------------------------------------------


def _code_coordinator(actor: Actor, text: str, inter: dict[str, Any] | None) -> bool:
    if inter is not None and inter.get("type") == "results":
        if inter.get("status") == "passed":
            actor.say(f"QA passed {BRANCH}: deploying it to the sandbox …")
            _deploy(actor)
        else:
            actor.send(
                "python-agent",
                f"TASK-{task_of(text, inter)}: fix what QA found on {BRANCH}: {inter.get('details', 'see QA results')}",
            )
        return True
    if text.startswith("COMPLETE python-agent"):
        handoff = {
            "type": "handoff",
            "task": task_of(text),
            "branch": BRANCH,
            "priority": "high",
            "message": "slugify() is ready for QA",
        }
        _send_inter(actor, "QAAgency", handoff)
        return True
    if text.upper().startswith("TASK"):
        actor.send("python-agent", text)  # the demo's one specialist takes every part
        return True
    return False


def _python_agent(actor: Actor, text: str, inter: dict[str, Any] | None) -> bool:
    if not text.upper().startswith("TASK"):
        return False
    task = task_of(text)
    actor.send("coordinator", f"STATUS {actor.name}: working on {task} on {BRANCH}")
    tree = _worktree(actor, branch=BRANCH, create=True)
    fixing = (tree / "test_slugify.py").exists()  # round one wrote it: anything later is a fix
    base = (tree / "textkit.py").read_text(encoding="utf-8").split("\n\ndef slugify")[0].rstrip("\n") + "\n"
    (tree / "textkit.py").write_text(base + (SLUGIFY_FIXED if fixing else SLUGIFY_FIRST), encoding="utf-8")
    (tree / "test_slugify.py").write_text(TEST_FIXED if fixing else TEST_FIRST, encoding="utf-8")
    message = "Drop punctuation in slugify(), as QA asked" if fixing else "Add slugify() with a test"
    if fixing and not _git(tree, "status", "--porcelain"):
        # Already fixed: this is a reviewer's feedback. Record what was asked, as a change.
        with open(tree / "CHANGES.md", "a", encoding="utf-8") as notes:
            notes.write(f"- {text.split(':', 1)[-1].strip()[:300]}\n")
        message = "Address the review feedback (CHANGES.md)"
    _git(tree, "add", "-A")
    _git(tree, "commit", "-q", "-m", message, author=actor.name)
    actor.send("coordinator", f"COMPLETE {actor.name}: {task} {'fixed' if fixing else 'done'} on {BRANCH} ({message})")
    return True


# --- QAAgency --------------------------------------------------------------------------------------


def _qa_coordinator(actor: Actor, text: str, inter: dict[str, Any] | None) -> bool:
    if inter is not None and inter.get("type") == "handoff":
        actor.send(
            "qa-engineer",
            f"TASK-{task_of(text, inter)}: test branch {inter.get('branch', BRANCH)} from {inter.get('_from')}",
        )
        return True
    verdict = re.match(r"COMPLETE qa-engineer: (\S+) (passed|failed)(?:: (.*))?", text, re.DOTALL)
    if verdict:
        task, status, details = verdict.groups()
        results: dict[str, Any] = {
            "type": "results",
            "task": task,
            "branch": BRANCH,
            "status": status,
            "issues_found": 0 if status == "passed" else 1,
        }
        if details:
            results["details"] = details.strip()[:300]
        _send_inter(actor, "CodeAgency", results)
        return True
    return False


def _qa_engineer(actor: Actor, text: str, inter: dict[str, Any] | None) -> bool:
    if not text.upper().startswith("TASK"):
        return False
    task = task_of(text)
    actor.send("coordinator", f"STATUS {actor.name}: testing {BRANCH} for {task} with QA's edge cases")
    tree = _worktree(actor, branch=BRANCH, create=False)
    (tree / QA_TEST).write_text(QA_TEST_TEXT, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if run.returncode == 0:
        actor.send("coordinator", f"COMPLETE {actor.name}: {task} passed: every QA test is green")
    else:
        failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
        details = "; ".join(line.removeprefix("FAILED ") for line in failed) or run.stdout.strip().splitlines()[-1]
        actor.send("coordinator", f"COMPLETE {actor.name}: {task} failed: {details}")
    return True


_ROLES = {
    ("CodeAgency", "coordinator"): _code_coordinator,
    ("CodeAgency", "python-agent"): _python_agent,
    ("QAAgency", "coordinator"): _qa_coordinator,
    ("QAAgency", "qa-engineer"): _qa_engineer,
}


# --- plumbing --------------------------------------------------------------------------------------


def _workspace_root() -> Path:
    return Path(os.environ["TMUX_AGENCY_HOME"])


def _project() -> Path:
    from tmux_agency.doors.workspace import Workspace

    return Workspace(_workspace_root()).project_dir()


def _git(repo: Path, *args: str, author: str | None = None) -> str:
    env = dict(os.environ)
    if author:
        env.update(
            GIT_AUTHOR_NAME=author,
            GIT_AUTHOR_EMAIL=f"{author}@agents.invalid",
            GIT_COMMITTER_NAME=author,
            GIT_COMMITTER_EMAIL=f"{author}@agents.invalid",
        )
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"git {args[0]}: {result.stderr.strip()}")
    return result.stdout


def _worktree(actor: Actor, branch: str, create: bool) -> Path:
    """The actor's own checkout of `branch` (a git worktree beside the project's, never the
    user's checkout): the developer's on the branch itself, QA's detached at its tip."""
    tree = _workspace_root() / "sandbox" / "work" / f"{actor.agency}-{actor.name}"
    project = _project()
    if not tree.exists():
        tree.parent.mkdir(parents=True, exist_ok=True)
        branches = _git(project, "branch", "--list", branch)
        if create and not branches.strip():
            _git(project, "worktree", "add", "-q", "-b", branch, str(tree))
        elif create:
            _git(project, "worktree", "add", "-q", str(tree), branch)
        else:
            _git(project, "worktree", "add", "-q", "--detach", str(tree), branch)
    elif not create:
        _git(tree, "checkout", "-q", "--detach", branch)
    return tree


def _send_inter(actor: Actor, to: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload)
    actor.say(f"» {to}: {body}")
    result = subprocess.run(
        [sys.executable, "-m", "tmux_agency", "send-inter", to, body], capture_output=True, text=True
    )
    if result.returncode != 0:
        actor.say(f"! send-inter failed: {result.stderr.strip()}")


def _deploy(actor: Actor) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tmux_agency", "deploy", "CodeAgency", BRANCH], capture_output=True, text=True
    )
    for line in (result.stdout + result.stderr).strip().splitlines()[-3:]:
        actor.say(f"  {line}")
