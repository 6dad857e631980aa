"""Record what the real agent CLIs show, screen by screen, as test data with its true state.

    python tests/data/captures/record_real.py [PROGRAM ...]     # default: every pinned CLI

Each program (the pinned versions of tests/real_clis.py, installed on demand) runs in a pane of
a private tmux server, with a throwaway HOME and a dummy key. Each is recorded against the local
stand-in of its model API (tmux_agency/standin_api.py), so it replies, runs tools and asks
permission with no network; Codex, Gemini CLI and aider also with no API at all (their sign-in
and start-up screens, and how a request fails). A scenario walks each program through its
screens — sign in, trust the folder, the API key, its prompt, a pasted text, busy, an API
error, a permission dialog, exit — answering every question with an explicit choice, and saves
`capture-pane -p` of each to

    tests/data/captures/<program>@<version>/<state>[-<dialog>][.<variant>].txt

(the naming tests/test_profiles.py reads: see README.md beside this file). A step whose screen
does not appear in time stops the scenario with the screen it saw, so a changed CLI is noticed,
not recorded wrongly. Run it again after changing PINNED in tests/real_clis.py.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
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
    `keys` (tmux key names; `literal` is typed as text first). An `optional` step is skipped when
    the next step's screen shows first, or when its own does not come within its timeout (a
    question asked only sometimes: aider's offer to update itself when the package registry
    answers, its question about analytics asked of a random share of new users)."""

    wait: str
    save: str | None = None
    paste: str | None = None
    keys: list[str] = field(default_factory=list)
    timeout: float = 30.0
    optional: bool = False
    literal: str | None = None
    settle: float = 0.5  # after the screen is seen: time to finish drawing (and to take keys)


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
            (home / name).write_text(text.replace("{api}", api_url))
        env = real_clis.clean_env(home, {k: v.replace("{api}", api_url) for k, v in scenario.env.items()})
        # tmux gives a new session the PATH of the client that created it, whatever -e says:
        # `env` sets the clean one.
        command = ["/usr/bin/env", f"PATH={env['PATH']}", "/bin/sh", "-c",
                   'tmux set-option -p -t "$TMUX_PANE" remain-on-exit on; exec "$@"', "rec", str(executable), *scenario.args]
        env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        tmux("kill-session", "-t", "=rec")
        tmux("new-session", "-d", "-s", "rec", "-x", str(WIDTH), "-y", str(HEIGHT), "-c", str(project), *env_args, "--", *command)
        try:
            for index, step in enumerate(scenario.steps):
                later = []  # the steps whose screen may come instead of an optional one's
                for following in scenario.steps[index + 1 :] if step.optional else []:
                    later.append(following)
                    if not following.optional:
                        break
                shown = _wait(step, later)
                if shown is None:
                    continue  # an optional screen that did not come
                if step.save:
                    name = step.save + (f".{scenario.variant}" if scenario.variant else "")
                    path = out / f"{name}.txt"
                    path.write_text(shown + "\n")
                    saved.append(path.name)
                if step.literal is not None:
                    tmux("send-keys", "-t", "rec", "-l", step.literal)
                    time.sleep(0.4)
                if step.paste is not None:
                    tmux("load-buffer", "-b", "rec", "-", ";", "paste-buffer", "-p", "-d", "-b", "rec", "-t", "rec", stdin=step.paste)
                    time.sleep(0.3)
                for key in step.keys:
                    tmux("send-keys", "-t", "rec", key)
                    time.sleep(0.4)
        finally:
            tmux("kill-session", "-t", "=rec")
            _end_left_behind(home)
    return saved


def _wait(step: Step, later: list[Step] = []) -> str | None:  # noqa: B006 - read only
    """The screen once `step.wait` shows on it; None when the step is optional and the screen
    of one of the `later` steps shows first."""
    deadline = time.monotonic() + step.timeout
    pattern = re.compile(step.wait, re.MULTILINE)
    skip = [re.compile(other.wait, re.MULTILINE) for other in later if other.wait != EXITED]
    while True:
        shown = screen().rstrip("\n")
        if skip and not pattern.search(shown) and any(other.search(shown) for other in skip):
            return None
        if step.wait == EXITED and tmux("display-message", "-p", "-t", "rec", "#{pane_dead}").strip() == "1":
            if PANE_DEAD.search(shown):
                return shown
            # tmux marks the pane dead when its terminal closes, but writes its "Pane is dead"
            # line only once it has reaped the process; with Codex and aider (tmux 3.3a) that
            # waited for the next child of the server to end: give it one.
            tmux("run-shell", "true")
        elif step.wait != EXITED and pattern.search(shown):
            time.sleep(step.settle)  # let it finish drawing, then take what is there
            return screen().rstrip("\n")
        if time.monotonic() > deadline:
            if step.optional:
                return None
            raise SystemExit(f"waited {step.timeout:g}s for /{step.wait}/; the screen was:\n{shown}")
        time.sleep(0.2)


def _end_left_behind(home: Path) -> None:
    """End the processes a program left running after its pane was killed (Codex leaves its
    `codex app-server` daemon, started from the throwaway HOME), each by its id."""
    for _ in range(3):
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                args = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                environ = (proc / "environ").read_bytes()
            except OSError:
                continue
            if str(home) in args or f"HOME={home}".encode() + b"\0" in environ:
                found.append(int(proc.name))
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGTERM if _ == 0 else signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(1.0)


# --- the scenarios ---------------------------------------------------------------------------------

EXITED = "(the program has exited: its pane is dead)"
PANE_DEAD = re.compile(r"^Pane is dead \((status|signal) ", re.MULTILINE)
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
        ]),
        # Auto mode (the default of this version): no "? for shortcuts" under the prompt.
        Scenario("claude", [], env=CLAUDE_ENV, home_files=ONBOARDED, variant="auto-mode", steps=[
            *trust_and_key[:1],
            Step(r"Detected a custom API key", keys=["Up", "Enter"]),
            Step(r"auto mode on", "idle"),
        ]),
        # A first run with no network: its connectivity check fails and it exits.
        Scenario("claude", [], env=CLAUDE_ENV, variant="first-run-offline", steps=[Step(EXITED, "exited")]),
    ]


# Codex: the API key as `codex login --with-api-key` stores it (with only OPENAI_API_KEY in the
# environment, 0.171 still shows its sign-in screen). No network: a request retries, then waits
# for the network without end, so the turn is interrupted with Esc.
CODEX_SIGNED_IN = {".codex/auth.json": '{"auth_mode": "apikey", "OPENAI_API_KEY": "sk-dummy-recorder-key"}'}
CODEX_COMPOSER = r"^› Ask Codex to do anything$"
CODEX_STANDIN = {".codex/config.toml": real_clis.CODEX_STANDIN_CONFIG}
LONG_TEXT = " ".join(f"word{n}" for n in range(300))  # ~2,300 characters
LONG_LINES = "\n".join(f"line {n} of a long text" for n in range(40))


def codex_scenarios(marker: str) -> list[Scenario]:
    return [
        Scenario("codex", [], home_files=CODEX_SIGNED_IN, steps=[
            # Its default is "Trust and continue": chosen on purpose, seen selected first.
            Step(r"Trust this folder\?[\s\S]*^› 1\. Trust and continue", "dialog-trust-folder", keys=["Enter"]),
            Step(CODEX_COMPOSER + r"[\s\S]*\? for shortcuts", "idle", paste="hello from the recorder"),
            Step(r"^› hello from the recorder", "pasted", keys=["Enter"]),
            Step(r"esc to interrupt", "busy"),
            Step(r"Reconnecting\.\.\. \d/\d", "busy.reconnecting"),
            # While it works, a text typed and Enter goes into the running turn (it steers).
            Step(r"waiting for network", "busy.waiting-for-network", paste="second message while busy", timeout=90),
            Step(r"^› second message while busy", keys=["Enter"]),
            Step(r"^› second message while busy$[\s\S]*esc to interrupt[\s\S]*" + CODEX_COMPOSER, "busy.steered", keys=["Escape"]),
            Step(r"Conversation interrupted[\s\S]*" + CODEX_COMPOSER, "idle-after-interrupt", paste=LONG_TEXT),
            # A long paste shows as a marker in the composer; Ctrl-U clears it.
            Step(r"^› \[Pasted Content \d+ chars\]", "pasted.long", keys=["C-u"]),
            Step(CODEX_COMPOSER, literal="/quit"),
            Step(r"^› /quit", keys=["Enter"]),
            Step(EXITED, "exited"),
        ]),
        # Not signed in: the sign-in screens; the key typed into its box is saved as the key.
        Scenario("codex", [], steps=[
            Step(r"Sign in with ChatGPT", "dialog-sign-in", keys=["Down", "Down"]),
            Step(r"^> 3\. Sign in another way", keys=["Enter"], settle=1.5),
            Step(r"^> 1\. Use an OpenAI API key", "dialog-sign-in.another-way", keys=["Enter"], settle=1.5),
            Step(r"Paste or type your API key", "dialog-api-key", literal="sk-dummy-recorder-key", settle=1.5),
            Step(r"sk-dummy-recorder-key", keys=["Enter"], settle=1.0),
            Step(r"Trust this folder\?"),
        ]),
        # Against the stand-in's Responses API (a model provider of its own: no sign-in): a reply,
        # a command it asks to run outside its sandbox (its default is "Yes, proceed": Esc
        # refuses, and the recorder checks it did not run), and an HTTP 400.
        Scenario("codex", [], env={"STANDIN_API_KEY": "sk-dummy-recorder-key"}, home_files=CODEX_STANDIN, steps=[
            Step(r"Trust this folder\?[\s\S]*^› 1\. Trust and continue", keys=["Enter"]),
            Step(CODEX_COMPOSER + r"[\s\S]*\? for shortcuts", paste="hello from the recorder"),
            Step(r"^› hello from the recorder", keys=["Enter"]),
            Step(r"Understood: hello from the recorder[\s\S]*" + CODEX_COMPOSER + r"[\s\S]*\? for shortcuts", "idle-after-reply",
                 paste=f"tool:bash touch {marker}"),
            Step(r"^› tool:bash", keys=["Enter"]),
            Step(r"Would you like to run the following command\?[\s\S]*^› 1\. Yes, proceed", "dialog-approve-command", keys=["Escape"]),
            Step(r"You canceled the request[\s\S]*" + CODEX_COMPOSER + r"[\s\S]*\? for shortcuts", "idle-after-refusal",
                 paste="fail:400 please"),
            Step(r"^› fail:400 please", keys=["Enter"]),
            Step(r"stand-in was asked to fail[\s\S]*" + CODEX_COMPOSER + r"[\s\S]*\? for shortcuts", "idle-after-error.http-400",
                 literal="/quit"),
            Step(r"^› /quit", keys=["Enter"]),
            Step(EXITED),
        ]),
    ]


GEMINI_INPUT = r"^ >   Type your message"


# Gemini CLI: a dummy key in the environment; it asks to trust the folder (and restarts), how to
# authenticate, and shows the key in its "Enter Gemini API Key" box. No network: a request
# retries for a minute or two, then shows an API error.
def gemini_scenarios(marker: str) -> list[Scenario]:
    first_run = [
        Step(r"Do you trust the files in this folder\?[\s\S]*● 1\. Trust folder", keys=["Enter"]),
        Step(r"How would you like to authenticate[\s\S]*● 2\. Use Gemini API Key", keys=["Enter"]),
        Step(r"Enter Gemini API Key[\s\S]*dummy-recorder-key", keys=["Enter"]),
    ]
    return [
        Scenario("gemini", [], env={"GEMINI_API_KEY": "dummy-recorder-key"}, steps=[
            Step(r"Do you trust the files in this folder\?[\s\S]*● 1\. Trust folder", "dialog-trust-folder", keys=["Enter"]),
            Step(r"How would you like to authenticate[\s\S]*● 2\. Use Gemini API Key", "dialog-auth", keys=["Enter"]),
            Step(r"Enter Gemini API Key[\s\S]*dummy-recorder-key", "dialog-api-key", keys=["Enter"]),
            # A long paste shows as a marker in the input; Ctrl-C clears it.
            Step(GEMINI_INPUT, "idle", paste=LONG_LINES),
            Step(r"^ > \[Pasted Text: \d+ lines\]", "pasted.long", keys=["C-c"]),
            Step(GEMINI_INPUT, paste="hello from the recorder"),
            Step(r"^ > hello from the recorder", "pasted", keys=["Enter"]),
            # While it works it takes a message and queues it.
            Step(r"esc to cancel", "busy", paste="second message while busy"),
            Step(r"^ > second message while busy", keys=["Enter"]),
            Step(r"Queued \(press ↑ to edit\)[\s\S]*esc to cancel", "busy.queued"),
            Step(r"API Error[\s\S]*^ > second message while busy[\s\S]*API Error[\s\S]*^ >   Type your message",
                 "idle-after-error", literal="/quit", timeout=900),
            Step(r"^ > /quit", keys=["Enter"]),
            Step(EXITED, "exited"),
        ]),
        # Against the stand-in's Gemini API: a reply, a shell command it asks to run (its default
        # is "Allow once": Esc refuses, and the recorder checks it did not run), a reply as it
        # streams in, and an HTTP 400.
        Scenario("gemini", [], env={"GEMINI_API_KEY": "dummy-recorder-key", "GOOGLE_GEMINI_BASE_URL": "{api}"}, steps=[
            *first_run,
            Step(GEMINI_INPUT, paste="hello from the recorder"),
            Step(r"^ > hello from the recorder", keys=["Enter"]),
            Step(r"Understood: hello from the recorder\s*\n\s+\? for shortcuts[\s\S]*" + GEMINI_INPUT, "idle-after-reply",
                 paste=f"tool:bash touch {marker}"),
            Step(r"^ > tool:bash", keys=["Enter"]),
            Step(r"Allow execution of \[Shell\]\?[\s\S]*● 1\. Allow once", "dialog-allow-execution", keys=["Escape"]),
            Step(r"Request cancelled\.[\s\S]*" + GEMINI_INPUT, "idle-after-refusal", paste="slow: tell me a long story"),
            Step(r"^ > slow: tell me", keys=["Enter"]),
            Step(r"✦ Understood: slow[\s\S]*esc to cancel", "busy.replying"),
            Step(r"Understood: slow: tell me a long story\s*\n\s+\? for shortcuts[\s\S]*" + GEMINI_INPUT, paste="fail:400 please", timeout=60),
            Step(r"^ > fail:400 please", keys=["Enter"]),
            Step(r"API Error[\s\S]*" + GEMINI_INPUT, "idle-after-error.http-400", literal="/quit"),
            Step(r"^ > /quit", keys=["Enter"]),
            Step(EXITED),
        ]),
    ]


# aider: its start-up questions are "(Y)es/(N)o [Yes]:" lines, each answered here on purpose.
# No network: a request retries for about a minute, then it shows its prompt again.
AIDER_QUESTION = r"\(Y\)es/\(N\)o(/\(D\)on't ask again)? \[Yes\]: ?\Z"
AIDER_PROMPT = r"^─{20,}\n> ?\Z"
AIDER_DIFF_PROMPT = r"^─{20,}\ndiff> ?\Z"
AIDER_ASKS_ANALYTICS = {".aider/analytics.json": '{"uuid": "000000aa-0000-4000-8000-000000000000", "asked_opt_in": false}'}
AIDER_ANALYTICS_ANSWERED = {".aider/analytics.json": '{"uuid": "ffffffaa-0000-4000-8000-000000000000", "asked_opt_in": true, "permanently_disable": true}'}


def aider_scenarios(marker: str) -> list[Scenario]:
    # Asked of the users whose id falls in its sample (the id is seeded so that it is); its
    # default is Yes: "No" is chosen.
    analytics = Step(r"Allow collection of anonymous analytics to help improve aider\? " + AIDER_QUESTION, "dialog-question.analytics",
                     keys=["n", "Enter"])
    gitignore = Step(r"Add \.aider\* to \.gitignore \(recommended\)\? " + AIDER_QUESTION, "dialog-gitignore", keys=["y", "Enter"])
    return [
        Scenario("aider", [], env={"OPENAI_API_KEY": "sk-dummy-recorder-key"}, home_files=AIDER_ASKS_ANALYTICS, steps=[
            analytics,
            # Asked only when the package registry answers with a newer release: "No".
            Step(r"Newer aider version[\s\S]*Run pip install\? " + AIDER_QUESTION, "dialog-update", keys=["n", "Enter"],
                 optional=True, timeout=25),
            gitignore,
            Step(r"see what's new in this version\? " + AIDER_QUESTION, "dialog-question.whats-new", keys=["n", "Enter"]),
            Step(AIDER_PROMPT, "idle", paste="hello from the recorder"),
            Step(r"^> hello from the recorder", "pasted", keys=["Enter"]),
            Step(r"Waiting for gpt-4o", "busy"),
            Step(r"Retrying in [\d.]+ seconds", "busy.retrying"),
            Step(r"down or overloaded\.\n+" + AIDER_PROMPT[1:], "idle-after-error", literal="/exit", keys=["Enter"], timeout=180),
            Step(EXITED, "exited"),
        ]),
        # No key at all: it offers to sign in to OpenRouter ("Yes" opens a browser and waits).
        Scenario("aider", ["--no-check-update"], home_files=AIDER_ANALYTICS_ANSWERED, steps=[
            Step(gitignore.wait, keys=["y", "Enter"]),
            Step(r"Login to OpenRouter or create a free account\? " + AIDER_QUESTION, "dialog-login", keys=["n", "Enter"]),
            Step(r"Open documentation URL for more info\? " + AIDER_QUESTION, "dialog-question.open-docs", keys=["n", "Enter"]),
            Step(EXITED, "exited.no-key"),
        ]),
        # Against the stand-in's Chat Completions API: a reply, a shell command it offers to run
        # (its default answer is Yes: "No" is chosen, and the recorder checks the command did not
        # run), and a reply as it streams in: no sign of work on screen then, so no rule may
        # call it ready or busy.
        Scenario("aider", ["--no-check-update", "--no-gitignore", "--no-show-model-warnings", "--model", "openai/standin",
                           "--edit-format", "diff"],
                 env={"OPENAI_API_KEY": "sk-dummy-recorder-key", "OPENAI_API_BASE": "{api}/v1"},
                 home_files=AIDER_ANALYTICS_ANSWERED, steps=[
            Step(r"see what's new in this version\? " + AIDER_QUESTION, keys=["n", "Enter"]),
            Step(AIDER_DIFF_PROMPT, "idle.diff-mode", paste="hello from the recorder"),
            Step(r"^diff> hello from the recorder", keys=["Enter"]),
            Step(r"Understood: hello from the recorder[\s\S]*" + AIDER_DIFF_PROMPT, "idle-after-reply", paste=f"tool:bash touch {marker}"),
            Step(r"^diff> tool:bash", keys=["Enter"]),
            Step(r"Run shell command\? " + AIDER_QUESTION, "dialog-run-command", keys=["n", "Enter"]),
            Step(r"Run shell command\? .*\]: n\n+" + AIDER_DIFF_PROMPT[1:], "idle-after-refusal", paste="slow: tell me a long story"),
            Step(r"^diff> slow: tell me", keys=["Enter"]),
            Step(r"^Understood: slow: tell\b", "unknown.streaming"),
            Step(r"Understood: slow: tell me a long story[\s\S]*" + AIDER_DIFF_PROMPT, literal="/exit", keys=["Enter"]),
            Step(EXITED),
        ]),
    ]


def scenarios(marker: str) -> dict[str, list[Scenario]]:
    return {"claude": claude_scenarios(marker), "codex": codex_scenarios(marker), "gemini": gemini_scenarios(marker), "aider": aider_scenarios(marker)}


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
