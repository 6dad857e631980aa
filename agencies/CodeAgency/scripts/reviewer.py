#!/usr/bin/env python3
"""reviewer.py - automated review of the changes on the current branch (git diff BASE...HEAD).

Flags TODO/FIXME markers, debug leftovers (print, console.log, debugger, breakpoint, pdb),
very long functions, large files and changed source files without matching test changes.
Prints a score 0-100 and the findings. Always exits 0 (it advises; the reviewer decides).
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ME = "reviewer.py"
SOURCE_EXT = {".py", ".js", ".jsx", ".ts", ".tsx", ".go"}
LONG_FUNCTION = 60  # lines
LARGE_FILE = 500  # lines
PENALTY = {"debug": 5, "todo": 2, "long-function": 5, "large-file": 3, "missing-tests": 10}
TODO_RE = re.compile(r"\b(TODO|FIXME|XXX|HACK)\b")
DEBUG_RE = {
    ".py": re.compile(r"^\s*(print\(|breakpoint\(\)|import pdb|pdb\.set_trace\(\))"),
    ".js": re.compile(r"\b(console\.(log|debug|trace)\(|debugger;)"),
    ".go": re.compile(r"^\s*(fmt\.Print(ln|f)?\(|spew\.Dump\()"),
}
for _ext in (".jsx", ".ts", ".tsx"):
    DEBUG_RE[_ext] = DEBUG_RE[".js"]


def git(*args: str) -> str:
    out = subprocess.run(["git", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1].removeprefix("fatal: ") if out.stderr.strip() else "git failed")
    return out.stdout


def default_base() -> str | None:
    for ref in ("main", "master", "origin/main", "origin/master"):
        if subprocess.run(["git", "rev-parse", "--verify", "--quiet", ref], capture_output=True).returncode == 0:
            return ref
    return None


def is_test(path: str) -> bool:
    name = Path(path).name
    return (
        "tests/" in path or path.startswith("test/") or "/test/" in path or "__tests__/" in path
        or name.startswith("test_") or name.endswith(("_test.py", "_test.go"))
        or re.search(r"\.(test|spec)\.[jt]sx?$", name) is not None
    )


def added_lines(diff: str) -> dict[str, list[tuple[int, str]]]:
    """File -> [(line number in new file, text)] for every added line of a -U0 diff."""
    result: dict[str, list[tuple[int, str]]] = {}
    current, lineno = None, 0
    for line in diff.splitlines():
        if line.startswith("+++ "):
            current = line[6:] if line.startswith("+++ b/") else None
            if current:
                result.setdefault(current, [])
        elif line.startswith("@@"):
            m = re.match(r"@@ -\S+ \+(\d+)", line)
            lineno = int(m.group(1)) if m else 0
        elif current and line.startswith("+"):
            result[current].append((lineno, line[1:]))
            lineno += 1
    return result


def long_functions(path: str, text: str, changed: set[int]) -> list[tuple[int, str]]:
    """(line, message) for functions over LONG_FUNCTION lines that contain a changed line."""
    spans: list[tuple[str, int, int]] = []
    if path.endswith(".py"):
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            return [(exc.lineno or 1, f"does not parse: {exc.msg}")]
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                spans.append((node.name, node.lineno, node.end_lineno or node.lineno))
    elif path.endswith(".go"):  # gofmt guarantees top-level funcs open with `func` and close with `}`
        lines, start, name = text.splitlines(), None, ""
        for i, line in enumerate(lines, 1):
            m = re.match(r"func (\([^)]*\) )?(\w+)", line)
            if m:
                start, name = i, m.group(2)
            elif start and line == "}":
                spans.append((name, start, i))
                start = None
    return [
        (s, f"function {n}() is {e - s + 1} lines (limit {LONG_FUNCTION}); split it")
        for n, s, e in spans
        if e - s + 1 > LONG_FUNCTION and any(s <= c <= e for c in changed)
    ]


def review(base: str) -> tuple[list[dict], list[str]]:
    names = [p for p in git("diff", "--name-only", "--diff-filter=ACMR", f"{base}...HEAD").splitlines() if p]
    added = added_lines(git("diff", "-U0", "--no-color", f"{base}...HEAD"))
    findings: list[dict] = []

    def add(kind: str, path: str, line: int, message: str) -> None:
        findings.append({"kind": kind, "file": path, "line": line, "message": message})

    tests_changed = [p for p in names if is_test(p)]
    for path in names:
        ext = Path(path).suffix
        file = Path(path)
        text = file.read_text(errors="replace") if file.is_file() else ""
        for lineno, line in added.get(path, []):
            if TODO_RE.search(line):
                add("todo", path, lineno, f"marker left in: {line.strip()[:80]}")
            if ext in DEBUG_RE and not is_test(path) and DEBUG_RE[ext].search(line):
                add("debug", path, lineno, f"possible debug leftover: {line.strip()[:80]}")
        if ext not in SOURCE_EXT:
            continue
        if text.count("\n") > LARGE_FILE:
            add("large-file", path, 1, f"{text.count(chr(10))} lines (over {LARGE_FILE}); consider splitting")
        changed = {n for n, _ in added.get(path, [])}
        for lineno, message in long_functions(path, text, changed):
            add("long-function", path, lineno, message)
        if not is_test(path) and Path(path).name not in ("__init__.py", "main.go", "conftest.py"):
            stem = Path(path).stem.split(".")[0]
            if not any(stem in Path(t).name for t in tests_changed):
                add("missing-tests", path, 1, f"source changed but no test file mentioning '{stem}' changed")
    return findings, names


def main() -> int:
    parser = argparse.ArgumentParser(prog=ME, description=__doc__.split("\n\n")[0],
                                     epilog="Run it from the project repository, on your task branch.")
    parser.add_argument("base", nargs="?", help="branch or commit to compare against (default: main, master, origin/main)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args()

    if shutil.which("git") is None:
        print(f"{ME}: git is not installed (apt-get install git)", file=sys.stderr)
        return 127
    try:
        git("rev-parse", "--is-inside-work-tree")
        base = args.base or default_base()
        if base is None:
            print(f"{ME}: no base branch found (main/master); pass one: {ME} BASE", file=sys.stderr)
            return 2
        if subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"],
                          capture_output=True).returncode != 0:
            print(f"{ME}: unknown base {base!r} (try main, master or origin/main)", file=sys.stderr)
            return 2
        findings, files = review(base)
    except RuntimeError as exc:
        print(f"{ME}: {exc}", file=sys.stderr)
        return 2

    score = max(0, 100 - sum(PENALTY[f["kind"]] for f in findings))
    if args.json:
        print(json.dumps({"base": base, "files": len(files), "score": score, "findings": findings}))
        return 0
    print(f"Review of {base}...HEAD: {len(files)} file(s) changed")
    if not files:
        print("Nothing to review: the branch has no changes against the base.")
    for kind in PENALTY:
        group = [f for f in findings if f["kind"] == kind]
        if group:
            print(f"\n[{kind}] {len(group)} finding(s), -{PENALTY[kind]} each")
            for f in group:
                print(f"  {f['file']}:{f['line']}: {f['message']}")
    verdict = "good to hand off" if score >= 85 else "fix before hand-off" if score >= 60 else "needs rework"
    print(f"\nSCORE: {score}/100 ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
