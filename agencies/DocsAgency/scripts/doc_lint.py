#!/usr/bin/env python3
"""doc_lint.py - lint the Markdown documentation of the current repository.

Checks: broken relative links and images (files and #anchors), headings that skip a level
(## then ####), empty sections (a heading with no content before the next heading of the
same or higher level), and TODO/FIXME/TBD/XXX markers. Fenced code blocks and inline code
are ignored. Exit 1 when there are problems, 0 when clean.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

ME = "doc_lint.py"
CHECKS = ("links", "headings", "empty", "todo")
SKIP_DIRS = {".git", "node_modules", ".venv", "venv", ".tox", "build", "dist", "site-packages"}
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
TODO = re.compile(r"\b(TODO|FIXME|TBD|XXX)\b")


def markdown_files(paths: list[str]) -> list[Path]:
    if not paths:
        out = subprocess.run(["git", "ls-files", "*.md", "*.markdown"], capture_output=True, text=True)
        if out.returncode == 0:
            return [Path(p) for p in out.stdout.splitlines() if Path(p).is_file()]
        paths = ["."]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += [f for f in p.rglob("*.md") if not SKIP_DIRS & set(f.parts)]
        elif p.is_file():
            files.append(p)
        else:
            print(f"{ME}: no such file or directory: {p}", file=sys.stderr)
    return sorted(files)


def slug(text: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"`([^`]*)`", r"\1", text.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def parse(path: Path) -> tuple[list[tuple[int, str]], list[tuple[int, int, str]], set[str]]:
    """(content lines outside code fences with inline code removed, headings, anchors)."""
    lines, headings, anchors, counts = [], [], set(), {}
    fence = None
    for n, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        stripped = raw.strip()
        m = re.match(r"^(`{3,}|~{3,})", stripped)
        if m:
            fence = None if fence and stripped.startswith(fence) else (fence or m.group(1))
            lines.append((n, "<code>"))
            continue
        if fence:
            lines.append((n, "<code>"))
            continue
        text = re.sub(r"`[^`]*`", "<code>", raw)
        h = HEADING.match(text) if not raw.startswith("    ") else None
        if h:
            title = HEADING.match(raw).group(2)
            headings.append((n, len(h.group(1)), title))
            base = slug(title)
            anchors.add(base if base not in counts else f"{base}-{counts[base]}")
            counts[base] = counts.get(base, 0) + 1
        anchors.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", raw))
        lines.append((n, text))
    return lines, headings, anchors


def lint(path: Path, checks: set[str], cache: dict) -> list[tuple[int, str, str]]:
    if path not in cache:
        cache[path] = parse(path)
    lines, headings, _anchors = cache[path]
    problems = []
    if "links" in checks:
        for n, text in lines:
            targets = LINK.findall(text) + REF_DEF.findall(text)
            for target in targets:
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
                    continue  # http:, mailto:, ...
                file_part, _, anchor = unquote(target).partition("#")
                dest = (path.parent / file_part).resolve() if file_part else path.resolve()
                if file_part.startswith("/"):
                    dest = (Path.cwd() / file_part.lstrip("/")).resolve()
                if not dest.exists():
                    problems.append((n, "broken-link", f"{target}: {file_part} does not exist"))
                elif anchor and dest.suffix in (".md", ".markdown") and dest.is_file():
                    if dest not in cache:
                        cache[dest] = parse(dest)
                    if anchor.lower() not in cache[dest][2]:
                        problems.append((n, "broken-anchor", f"{target}: no heading #{anchor}"))
    if "headings" in checks:
        for (_, prev, _), (n, level, title) in zip(headings, headings[1:]):
            if level > prev + 1:
                problems.append((n, "heading-skip", f"h{prev} -> h{level} at '{title}' (use {'#' * (prev + 1)})"))
    if "empty" in checks:
        content = {n for n, t in lines if t.strip()}
        for i, (n, level, title) in enumerate(headings):
            end = next((m for m, lv, _ in headings[i + 1:] if lv <= level), None)
            nxt = headings[i + 1][0] if i + 1 < len(headings) else None
            stop = nxt if nxt is not None else (max(content) + 1 if content else n + 1)
            if not any(n < c < stop for c in content) and (nxt is None or end == nxt):
                problems.append((n, "empty-section", f"'{title}' has no content"))
    if "todo" in checks:
        for n, text in lines:
            m = TODO.search(text)
            if m:
                problems.append((n, "todo", f"{m.group(1)} marker: {text.strip()[:70]}"))
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(prog=ME, description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("paths", nargs="*", help="files or folders (default: all tracked *.md files)")
    parser.add_argument("--skip", action="append", default=[], choices=CHECKS, help="skip a check (repeatable)")
    args = parser.parse_args()
    checks = set(CHECKS) - set(args.skip)
    files = markdown_files(args.paths)
    cache: dict = {}
    total = 0
    for path in files:
        for n, kind, message in sorted(lint(path, checks, cache)):
            print(f"{path}:{n}: {kind}: {message}")
            total += 1
    if total:
        print(f"{ME}: {total} problem(s) in {len(files)} file(s)")
        return 1
    print(f"{ME}: {len(files)} file(s) clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
