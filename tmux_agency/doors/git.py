"""The few git operations the sandbox and approvals need, each failure one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tmux_agency.models.errors import UsageError, WorldError


def git(repo: Path, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True, text=True)
    except FileNotFoundError:
        raise WorldError("git is not installed") from None
    if check and result.returncode != 0:
        message = (result.stderr.strip() or result.stdout.strip() or "failed").splitlines()[-1]
        raise WorldError(f"git {args[0]}: {message}")
    return result


def check_repository(repo: Path) -> None:
    """The project must be a git repository (a one-line UsageError otherwise)."""
    if not repo.is_dir():
        raise UsageError(f"the project folder {repo} does not exist")
    result = git(repo, "rev-parse", "--is-inside-work-tree", check=False)
    if result.returncode != 0 or result.stdout.strip() != "true":
        raise UsageError(f"the project folder {repo} is not a git repository")


def is_dirty(repo: Path) -> list[str]:
    """Tracked files with uncommitted changes (untracked files do not count)."""
    out = git(repo, "status", "--porcelain", "--untracked-files=no").stdout
    return [line[3:] for line in out.splitlines() if line.strip()]


def current_branch(repo: Path) -> str | None:
    result = git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return result.stdout.strip() or None


def branch_exists(repo: Path, branch: str) -> bool:
    return git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).returncode == 0


def check_branch_name(repo: Path, branch: str) -> None:
    if (
        not branch
        or branch.startswith("-")
        or git(repo, "check-ref-format", "--branch", branch, check=False).returncode
    ):
        raise UsageError(f"invalid branch name {branch!r}")


def commit_of(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", ref).stdout.strip()


def diff_stat(repo: Path, base: str, branch: str) -> tuple[int, int, int]:
    """(files changed, lines added, lines removed) of `branch` against where it left `base`."""
    out = git(repo, "diff", "--numstat", f"{base}...{branch}").stdout
    files = added = removed = 0
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        files += 1
        added += int(parts[0]) if parts[0].isdigit() else 0  # '-' for binary files
        removed += int(parts[1]) if parts[1].isdigit() else 0
    return files, added, removed


def diff_summary(repo: Path, base: str, branch: str) -> str:
    return git(repo, "diff", "--stat", f"{base}...{branch}").stdout.rstrip()


def last_subject(repo: Path, branch: str) -> str:
    return git(repo, "log", "-1", "--format=%s", branch).stdout.strip()


def tip(repo: Path, branch: str) -> str | None:
    """The commit `branch` points at, or None if there is no such branch."""
    result = git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
    return result.stdout.strip() or None


def is_ancestor(repo: Path, commit: str, of: str) -> bool:
    """Whether `commit` is reachable from `of` (a missing commit is not)."""
    return git(repo, "merge-base", "--is-ancestor", commit, of, check=False).returncode == 0


def commits(repo: Path, tip: str, excluding: list[str] | tuple[str, ...] = (), limit: int = 0) -> list[dict[str, str]]:
    """Commits reachable from `tip` and from none of `excluding` (commits that no longer exist are
    skipped), newest first: sha, short, author, date, subject, parents (space-separated)."""
    fields = "%H%x1f%h%x1f%an%x1f%aI%x1f%P%x1f%s"
    if excluding:  # a commit that is gone (history rewritten, then collected) excludes nothing
        known = git(
            repo,
            "cat-file",
            "--batch-check=%(objectname) %(objecttype)",
            stdin="".join(f"{sha}\n" for sha in excluding),
        )
        excluding = [line.split()[0] for line in known.stdout.splitlines() if line.endswith(" commit")]
    args = ["log", f"--format={fields}", "--stdin", *([f"-n{limit}"] if limit else []), tip]
    out = git(repo, *args, stdin="".join(f"^{sha}\n" for sha in excluding)).stdout
    found = []
    for line in out.splitlines():
        parts = line.split("\x1f", 5)
        if len(parts) == 6:
            found.append(dict(zip(("sha", "short", "author", "date", "parents", "subject"), parts)))
    return found
