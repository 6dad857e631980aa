#!/usr/bin/env python3
"""bug_tracker.py - a small bug tracker kept in .qa/bugs.json of the project repository.

  bug_tracker.py add --title "Login accepts empty password" --severity high --task FEAT-123
  bug_tracker.py list [--open] [--task FEAT-123] [--json]
  bug_tracker.py show BUG-003
  bug_tracker.py close BUG-003 [--note "fixed in a1b2c3d, verified"]
  bug_tracker.py reopen BUG-003 [--note "regressed on feature/FEAT-123-user-auth"]
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ME = "bug_tracker.py"
SEVERITIES = ("low", "medium", "high", "critical")


def store_path() -> Path:
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True)
        root = Path(top.stdout.strip()) if top.returncode == 0 else Path.cwd()
    except FileNotFoundError:
        root = Path.cwd()
    return root / ".qa" / "bugs.json"


def load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    try:
        return json.loads(path.read_text())["bugs"]
    except (ValueError, KeyError, TypeError):
        sys.exit(f"{ME}: {path} is not a valid bug file; fix or move it aside")


def save(path: Path, bugs: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"bugs": bugs}, indent=2) + "\n")
    os.replace(tmp, path)  # atomic: two agents writing at once never leave half a file


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def find(bugs: list[dict], bug_id: str) -> dict:
    key = bug_id.upper() if bug_id.upper().startswith("BUG-") else f"BUG-{int(bug_id):03d}" if bug_id.isdigit() else bug_id
    for bug in bugs:
        if bug["id"] == key:
            return bug
    sys.exit(f"{ME}: no bug {bug_id} (see: {ME} list)")


def line(bug: dict) -> str:
    return f"{bug['id']}  {bug['status']:<6}  {bug['severity']:<8}  {bug.get('task') or '-':<10}  {bug['title']}"


def main() -> int:
    parser = argparse.ArgumentParser(prog=ME, description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="record a new bug")
    add.add_argument("--title", required=True)
    add.add_argument("--severity", required=True, choices=SEVERITIES)
    add.add_argument("--task", help="task the bug belongs to, e.g. FEAT-123")
    add.add_argument("--branch", help="branch where it was found")
    add.add_argument("--steps", help="steps to reproduce / expected vs actual")
    lst = sub.add_parser("list", help="list bugs (most severe first)")
    lst.add_argument("--open", action="store_true", help="only open bugs")
    lst.add_argument("--task", help="only bugs of this task")
    lst.add_argument("--json", action="store_true", help="print JSON")
    show = sub.add_parser("show", help="show one bug in full")
    show.add_argument("id")
    for name in ("close", "reopen"):
        p = sub.add_parser(name, help=f"{name} a bug")
        p.add_argument("id")
        p.add_argument("--note", help="why (commit, verification, regression)")
    args = parser.parse_args()

    path = store_path()
    bugs = load(path)
    who = os.environ.get("TMUX_AGENCY_AGENT") or getpass.getuser()

    if args.command == "add":
        number = max((int(b["id"].split("-")[1]) for b in bugs), default=0) + 1
        bug = {"id": f"BUG-{number:03d}", "title": args.title, "severity": args.severity, "task": args.task,
               "branch": args.branch, "steps": args.steps, "status": "open", "reporter": who,
               "created_at": now(), "closed_at": None, "notes": []}
        bugs.append(bug)
        save(path, bugs)
        print(f"{bug['id']} added ({bug['severity']}): {bug['title']}")
    elif args.command == "list":
        rows = [b for b in bugs if (not args.open or b["status"] == "open") and (not args.task or b.get("task") == args.task)]
        rows.sort(key=lambda b: (b["status"] != "open", -SEVERITIES.index(b["severity"]), b["id"]))
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        for bug in rows:
            print(line(bug))
        open_bugs = [b for b in rows if b["status"] == "open"]
        by_sev = ", ".join(f"{sum(b['severity'] == s for b in open_bugs)} {s}" for s in reversed(SEVERITIES)
                           if any(b["severity"] == s for b in open_bugs))
        print(f"-- {len(rows)} bug(s), {len(open_bugs)} open" + (f" ({by_sev})" if by_sev else ""))
    elif args.command == "show":
        bug = find(bugs, args.id)
        for key in ("id", "title", "severity", "status", "task", "branch", "reporter", "created_at", "closed_at", "steps"):
            if bug.get(key):
                print(f"{key + ':':<12}{bug[key]}")
        for note in bug.get("notes", []):
            print(f"note:       [{note['at']}] {note['by']}: {note['text']}")
    else:
        bug = find(bugs, args.id)
        bug["status"] = "closed" if args.command == "close" else "open"
        bug["closed_at"] = now() if args.command == "close" else None
        if args.note:
            bug.setdefault("notes", []).append({"at": now(), "by": who, "text": args.note})
        save(path, bugs)
        print(f"{bug['id']} {bug['status']}: {bug['title']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
