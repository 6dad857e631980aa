"""The real agent CLIs, pinned: installed into a cache folder, found there, started clean.

    python tests/real_clis.py install      # what CI runs (.ci/setup): npm and pip, ~1-4 min
    python tests/real_clis.py which        # where each one is, or why it is missing

Each CLI gets a throwaway HOME and its auto-updater off, so nothing it does reaches the user's own
settings, and no network call is needed to reach its screens (tests/data/captures/README.md).
The versions are pinned: screens change between releases published the same day. To move to a
newer release, change PINNED, run `python tests/data/captures/record_real.py`, and fix the
profiles the tests then show to misread the new recordings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# program → (registry, package, version)
PINNED = {
    "claude": ("npm", "@anthropic-ai/claude-code", "2.1.332"),
    "codex": ("npm", "@openai/codex", "0.171.0"),
    "gemini": ("npm", "@google/gemini-cli", "0.61.0"),
    "aider": ("pypi", "aider-chat", "0.86.1"),
}
CACHE = Path(os.environ.get("TMUX_AGENCY_CLI_CACHE") or Path.home() / ".cache" / "tmux-agency" / "clis")


def npm_dir() -> Path:
    return CACHE / "npm"


def aider_venv() -> Path:
    return CACHE / f"aider-{PINNED['aider'][2]}"


def executable(program: str) -> Path | None:
    """The installed, pinned executable of `program`, or None."""
    if program == "aider":
        path = aider_venv() / "bin" / "aider"
    else:
        path = npm_dir() / "node_modules" / ".bin" / program
    return path if path.exists() else None


def version_of(program: str) -> str:
    return PINNED[program][2]


def install(programs: list[str] | None = None) -> None:
    """Install the pinned CLIs that are missing (npm ones in one call)."""
    wanted = programs or list(PINNED)
    npm = [
        f"{PINNED[p][1]}@{PINNED[p][2]}"
        for p in wanted
        if PINNED[p][0] == "npm" and _installed_version(p) != version_of(p)
    ]
    if npm:
        if shutil.which("npm") is None:
            raise SystemExit("real_clis: npm is not installed (apt-get install npm, or Node.js)")
        npm_dir().mkdir(parents=True, exist_ok=True)
        print(f"real_clis: npm install {' '.join(npm)}", file=sys.stderr, flush=True)
        subprocess.run(
            ["npm", "install", "--no-fund", "--no-audit", "--loglevel=error", "--prefix", str(npm_dir()), *npm],
            check=True,
        )
    if "aider" in wanted and executable("aider") is None:
        print(
            f"real_clis: pip install aider-chat=={version_of('aider')} (a venv of its own, a few minutes)",
            file=sys.stderr,
            flush=True,
        )
        subprocess.run([sys.executable, "-m", "venv", str(aider_venv())], check=True)
        subprocess.run(
            [
                str(aider_venv() / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"aider-chat=={version_of('aider')}",
            ],
            check=True,
        )


def _installed_version(program: str) -> str | None:
    import json

    package = npm_dir() / "node_modules" / PINNED[program][1] / "package.json"
    try:
        return json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


# Codex against the local stand-in's Responses API: a model provider of its own in
# ~/.codex/config.toml, so it needs no sign-in ({api} is the stand-in's URL; the key is read from
# STANDIN_API_KEY).
CODEX_STANDIN_CONFIG = """model = "standin"
model_provider = "standin"

[model_providers.standin]
name = "Stand-in"
base_url = "{api}/v1"
env_key = "STANDIN_API_KEY"
wire_api = "responses"
"""


def clean_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a CLI starts with: a throwaway HOME, no updater, a dummy key, nothing of
    the user's own tmux-agency or tmux session."""
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join([str(npm_dir() / "node_modules" / ".bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "TERM": "tmux-256color",
        "LANG": "C.UTF-8",
        "DISABLE_AUTOUPDATER": "1",  # Claude Code: it would `npm install -g` a second copy
        "NO_UPDATE_NOTIFIER": "1",
    }
    return {**env, **(extra or {})}


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        install(argv[1:] or None)
        return 0
    for program in PINNED:
        found = executable(program)
        print(f"{program:<7} {version_of(program):<9} {found or 'missing: python tests/real_clis.py install'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
