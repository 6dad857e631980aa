#!/usr/bin/env python3
"""secret_scan.py - find committed secrets in the tracked files of the current git repository.

Looks for AWS access keys and secret keys, private key blocks, GitHub/Slack tokens and
password/secret/api_key assignments with literal values. Prints file:line, the kind and the
secret masked. Exit 1 when anything is found, 0 when clean.
A line containing "secret-scan: ignore" is skipped (for documented test fixtures only).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ME = "secret_scan.py"
MAX_BYTES = 2_000_000
CODE_EXT = {".py", ".js", ".jsx", ".ts", ".tsx", ".go", ".java", ".rb", ".rs", ".c", ".cpp", ".cs", ".php", ".kt", ".swift", ".sh"}
RULES = [
    ("aws-access-key-id", re.compile(r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b")),
    ("aws-secret-access-key", re.compile(r"(?i)aws_?secret_?access_?key\W{0,4}[:=]\s*[\"']?([A-Za-z0-9/+=]{40})\b")),
    ("private-key", re.compile(r"(-----BEGIN (?:RSA |DSA |EC |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----)")),
    ("github-token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b")),
    ("slack-token", re.compile(r"\b(xox[abprs]-[A-Za-z0-9-]{10,})\b")),
]
ASSIGNMENT = re.compile(
    r"(?i)\b[\w.-]*(?:password|passwd|pwd|secret|api_?key|auth_?token|access_?token)\b[\"']?\s*(?::=|[:=])\s*([\"']?)([^\s\"',;]{4,})\1"
)
PLACEHOLDER = re.compile(r"(?i)^(\$|%\(|\{\{|<|\*+$|x+$|changeme|change_me|example|dummy|fake|test|placeholder|password$|secret$|none$|null$|true$|false$|your[_-])")


def mask(value: str) -> str:
    if value.startswith("-----BEGIN"):
        return value
    return value[:4] + "*" * 8 + (value[-2:] if len(value) > 12 else "")


def scan_line(path: str, line: str) -> list[tuple[str, str]]:
    hits = [(kind, m.group(1)) for kind, rule in RULES for m in rule.finditer(line)]
    if not hits:
        for m in ASSIGNMENT.finditer(line):
            quote, value = m.group(1), m.group(2)
            if PLACEHOLDER.match(value) or (not quote and Path(path).suffix in CODE_EXT):
                continue  # unquoted values in code are names or calls, not literals
            hits.append(("password-assignment", value))
    return hits


def tracked_files(paths: list[str]) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", "--", *paths], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().removeprefix("fatal: ") or "git ls-files failed")
    return [p for p in out.stdout.split("\0") if p]


def main() -> int:
    parser = argparse.ArgumentParser(prog=ME, description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("paths", nargs="*", help="limit the scan to these tracked paths")
    args = parser.parse_args()
    if shutil.which("git") is None:
        print(f"{ME}: git is not installed (apt-get install git)", file=sys.stderr)
        return 127
    try:
        files = tracked_files(args.paths)
    except RuntimeError as exc:
        print(f"{ME}: {exc} (run it from the project repository)", file=sys.stderr)
        return 2

    found = 0
    for path in files:
        file = Path(path)
        if not file.is_file() or file.stat().st_size > MAX_BYTES:
            continue
        data = file.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        for lineno, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if "secret-scan: ignore" in line:
                continue
            for kind, value in scan_line(path, line):
                print(f"{path}:{lineno}: {kind}: {mask(value)}")
                found += 1
    if found:
        print(f"{ME}: {found} possible secret(s) in {len(files)} tracked file(s). Rotate real secrets; "
              "removing them from the tree does not remove them from git history.")
        return 1
    print(f"{ME}: no secrets found in {len(files)} tracked file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
