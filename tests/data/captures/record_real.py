"""Record what the real agent CLIs show, screen by screen, as test data with its true state.

    python tests/data/captures/record_real.py [PROGRAM ...]     # default: every pinned CLI

Each program (the pinned versions of tests/real_clis.py, installed on demand) runs in a pane of
a private tmux server, with a throwaway HOME and a dummy key; Claude Code talks to the local
stand-in of the Messages API (tmux_agency/standin_api.py), so it replies, runs tools and asks
permission with no network. A scenario walks each program through its screens — trust the
folder, the API-key question, its prompt, a pasted text, busy, an API error, a permission
dialog, exit — and saves `capture-pane -p` of each to

    tests/data/captures/<program>@<version>/<state>[-<dialog>][.<variant>].txt

(the naming tests/test_profiles.py reads: see README.md beside this file). A step whose screen
does not appear in time stops the scenario with the screen it saw, so a changed CLI is noticed,
not recorded wrongly. Run it again after changing PINNED in tests/real_clis.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests import real_clis  # noqa: E402
from tmux_agency import standin_api  # noqa: E402
from tmux_agency.standin_api import StandIn  # noqa: E402

SOCKET = f"tmux-agency-record-{os.getpid()}"
WIDTH, HEIGHT = 100, 32


@dataclass
class Step:
    """Wait for `wait` on the screen, save it as `save` (if given), then paste `paste` and press
    `keys` (tmux key names)."""

    wait: str
    save: str | None = None
    paste: str | None = None
    keys: list[str] = field(default_factory=list)
    timeout: float = 30.0


@dataclass
class Scenario:
    program: str
    args: list[str]
    steps: list[Step]
    env: dict[str, str] = field(default_factory=dict)
    home_files: dict[str, str] = field(default_factory=dict)
    variant: str = ""  # appended to every capture's name: "idle.auto-mode.txt"


def tmux(*args: str, stdin: str | None = None) -> str:
    result = subprocess.run(["tmux", "-L", SOCKET, *args], input=stdin, capture_output=True, text=True)
    return result.stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", "rec")


def run(scenario: Scenario, out: Path, api_url: str) -> list[str]:
    executable = real_clis.executable(scenario.program)
    if executable is None:
        raise SystemExit(f"{scenario.program} is not installed: python tests/real_clis.py install")
    saved = []
    with tempfile.TemporaryDirectory(prefix=f"record-{scenario.program}-") as tmp:
        home, project = Path(tmp) / "home", Path(tmp) / "project"
        home.mkdir()
        project.mkdir()
        subprocess.run(["git", "init", "-q", str(project)], check=True)
        for name, text in scenario.home_files.items():
            (home / name).parent.mkdir(parents=True, exist_ok=True)
            (home / name).write_text(text)
        env = real_clis.clean_env(home, {k: v.replace("{api}", api_url) for k, v in scenario.env.items()})
        command = ["/bin/sh", "-c", 'tmux set-option -p -t "$TMUX_PANE" remain-on-exit on; exec "$@"', "rec", str(executable), *scenario.args]
        env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        tmux("kill-session", "-t", "=rec")
        tmux("new-session", "-d", "-s", "rec", "-x", str(WIDTH), "-y", str(HEIGHT), "-c", str(project), *env_args, "--", *command)
        try:
            for step in scenario.steps:
                shown = _wait(step)
                if step.save:
                    name = step.save + (f".{scenario.variant}" if scenario.variant else "")
                    path = out / f"{name}.txt"
                    path.write_text(shown + "\n")
                    saved.append(path.name)
                if step.paste is not None:
                    tmux("load-buffer", "-b", "rec", "-", ";", "paste-buffer", "-p", "-d", "-b", "rec", "-t", "rec", stdin=step.paste)
                    time.sleep(0.3)
                for key in step.keys:
                    tmux("send-keys", "-t", "rec", key)
                    time.sleep(0.4)
        finally:
            tmux("kill-session", "-t", "=rec")
    return saved


def _wait(step: Step) -> str:
    deadline = time.monotonic() + step.timeout
    pattern = re.compile(step.wait, re.MULTILINE)
    while True:
        shown = screen().rstrip("\n")
        if step.wait == EXITED and tmux("display-message", "-p", "-t", "rec", "#{pane_dead}").strip() == "1":
            return shown
        if step.wait != EXITED and pattern.search(shown):
            time.sleep(0.5)  # let it finish drawing, then take what is there
            return screen().rstrip("\n")
        if time.monotonic() > deadline:
            raise SystemExit(f"waited {step.timeout:g}s for /{step.wait}/; the screen was:\n{shown}")
        time.sleep(0.2)


# --- the scenarios ---------------------------------------------------------------------------------

EXITED = "(the program has exited: its pane is dead)"
CLAUDE_ENV = {"ANTHROPIC_API_KEY": "sk-ant-standin-key-0123456789", "ANTHROPIC_BASE_URL": "{api}"}
ONBOARDED = {".claude.json": '{"hasCompletedOnboarding": true}'}
PROMPT = r"^❯\s*$"


def claude_scenarios(marker: str) -> list[Scenario]:
    trust_and_key = [
        Step(r"trust this folder", "dialog-trust-folder", keys=["Down", "Enter"]),
        Step(r"Detected a custom API key", "dialog-api-key", keys=["Up", "Enter"]),
    ]
    return [
        # Default permission mode: Claude asks before a tool runs.
        Scenario("claude", ["--permission-mode", "default"], env=CLAUDE_ENV, home_files=ONBOARDED, steps=[
            *trust_and_key,
            Step(PROMPT, "idle", paste="hello from the recorder"),
            Step(r"^❯\shello from the recorder", "pasted", keys=["Enter"]),
            Step(r"Understood: hello from the recorder[\s\S]*^❯\s*$", "idle-after-reply", paste="slow: tell me a long story"),
            Step(r"^❯\sslow: tell me", keys=["Enter"]),
            Step(r"esc to interrupt", "busy"),
            Step(r"Understood: slow[\s\S]*^❯\s*$", paste="fail:400 please"),
            Step(r"^❯\sfail:400 please", keys=["Enter"]),
            Step(r"(API Error|400)[\s\S]*^❯\s*$", "idle-after-error", paste=f"tool:bash touch {marker}"),
            Step(r"^❯\stool:bash", keys=["Enter"]),
            Step(r"Do you want to proceed\?", "dialog-permission", keys=["Escape"]),
            Step(PROMPT, "idle-after-refusal", paste="/exit"),
            Step(r"^❯\s/exit", keys=["Enter"]),
            Step(EXITED, "exited"),
        ]),  # fmt: skip
        # Auto mode (the default of this version): no "? for shortcuts" under the prompt.
        Scenario("claude", [], env=CLAUDE_ENV, home_files=ONBOARDED, variant="auto-mode", steps=[
            *trust_and_key[:1],
            Step(r"Detected a custom API key", keys=["Up", "Enter"]),
            Step(r"auto mode on", "idle"),
        ]),  # fmt: skip
        # A first run with no network: its connectivity check fails and it exits.
        Scenario("claude", [], env=CLAUDE_ENV, variant="first-run-offline", steps=[Step(EXITED, "exited")]),
    ]


def scenarios(marker: str) -> dict[str, list[Scenario]]:
    return {"claude": claude_scenarios(marker)}


def main(argv: list[str]) -> int:
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed")
    wanted = argv or list(scenarios(""))
    real_clis.install(wanted)
    api = StandIn(log=os.environ.get('RECORD_API_LOG')).start()
    standin_api.SLOW_S = 6.0  # long enough to see it busy, short enough to wait for
    marker = Path(tempfile.mkdtemp()) / "the-tool-ran"
    try:
        for program in wanted:
            out = HERE / f"{program}@{real_clis.version_of(program)}"
            out.mkdir(exist_ok=True)
            for scenario in scenarios(str(marker))[program]:
                saved = run(scenario, out, api.url)
                print(f"{out.name}: {', '.join(saved)}")
        if marker.exists():
            raise SystemExit("a tool call the recorder refused ran anyway")
    finally:
        tmux("kill-server")
        api.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
