"""The command line's grammar: one table of commands, each with its arguments; a usage error is
one line and exit status 2."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import NoReturn

from tmux_agency.cli.agencies import cmd_create, cmd_init, cmd_kill, cmd_list, cmd_restore, cmd_status
from tmux_agency.cli.messages import cmd_broadcast, cmd_deliver, cmd_inbox, cmd_log, cmd_send, cmd_send_inter
from tmux_agency.cli.plumbing import PROG
from tmux_agency.cli.review import cmd_accept_base, cmd_approval_cli, cmd_approvals, cmd_approve, cmd_deploy, cmd_reject
from tmux_agency.cli.running import cmd_agent, cmd_demo, cmd_profiles, cmd_run, cmd_schedule, cmd_tui
from tmux_agency.cli.tasks import cmd_capabilities, cmd_metrics, cmd_task


def _parser_class() -> type[argparse.ArgumentParser]:
    """argparse, but a usage error is one line on stderr and exit status 2. Made on first use:
    an agent's plain `send` needs no parser, and argparse with its translations costs ~7 ms."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            sys.stderr.write(f"{PROG}: {message} (see '{self.prog} --help')\n")
            raise SystemExit(2)

        def _get_formatter(self) -> argparse.HelpFormatter:
            # argparse measures the terminal with shutil, whose import costs ~5 ms (and
            # add_argument makes a formatter even when no help is printed).
            return argparse.HelpFormatter(prog=self.prog, width=_help_width())

    return Parser


def _help_width() -> int:
    """The width argparse would choose: the terminal's columns less 2."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]  # None: AttributeError below
        except (AttributeError, ValueError, OSError):
            columns = 80
    return max(columns - 2, 11)


def _args_schedule(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "words", nargs="*", metavar="ARG", help="TARGET TEXT (TARGET: AGENCY or AGENCY/AGENT), or: list, cancel ID"
    )
    p.add_argument("--in", dest="in_", metavar="DURATION", help="send it once, this long from now: 30m, 2h, 1h30m")
    p.add_argument("--every", metavar="DURATION", help="send it again every DURATION (at least 1m)")
    p.add_argument("--json", action="store_true")


def _args_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between passes (default 5)")
    p.add_argument("--now", help="with --once: act as if it were this ISO time (tests, catching up)")


def _args_task(p: argparse.ArgumentParser) -> None:
    import argparse

    sub = p.add_subparsers(dest="task_command", metavar="ACTION", parser_class=type(p), required=True)

    def action(name: str, help_: str) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=help_, description=help_)
        # The global options work after the action too, as after any command.
        q.add_argument("--home", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        q.add_argument("--socket", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        q.add_argument("--json", action="store_true", help="print one JSON document")
        return q

    q = action("add", "add a task: to an agency, or to the best agency for the capabilities it needs")
    q.add_argument("title")
    q.add_argument("--agency", help="the agency that does it")
    q.add_argument(
        "--needs", metavar="CAP,...", help="capabilities it needs: the agency is chosen (capabilities, load, record)"
    )
    q.add_argument("--after", metavar="ID,...", help="tasks it waits for")
    q.add_argument("--priority", default="medium", help="low, medium (default), high or critical")
    q = action("list", "the tasks, with their states and the critical path")
    q.add_argument("--ready", action="store_true", help="only tasks that can start now")
    q.add_argument("--agency", help="only this agency's tasks")
    q = action("show", "one task: its state, dependencies, dependents and history")
    q.add_argument("id")
    q = action("dep", "make a task wait for others too (a cycle is refused)")
    q.add_argument("id")
    q.add_argument("--after", metavar="ID,...", required=True)
    for name, help_ in (("done", "mark a task completed"), ("fail", "mark a task failed"), ("cancel", "cancel a task")):
        action(name, help_).add_argument("id")


def _args_profiles(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="classify")
    c = sub.add_parser(
        "classify", help="the state a profile reads from a saved pane capture, and the rule that decided it"
    )
    c.add_argument(
        "--program",
        required=True,
        help="the profile's name (claude, codex, gemini, aider, scripted, or one of your workspace's)",
    )
    c.add_argument("file", help="a saved `tmux capture-pane -p` (or - for stdin)")
    c.add_argument(
        "--json", action="store_true", help="print state, rule and whether a message would be typed, as JSON"
    )


def _args_metrics(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agency", help="one agency's metrics")
    p.add_argument("--since", help="from this date or time (2024-05-01, 2024-05-01T09:30) or age (7d, 12h)")
    p.add_argument("--json", action="store_true")


# One entry per command: name, function, help, and how to add its arguments. `main` builds only
# the parser of the command being run: building all of them costs ~17 ms, which every agent
# would pay on every `send`.


def _args_init(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", help="workspace folder (default: --home or the current folder)")
    p.add_argument("--project", help="the git repository the agents work on (default: the current folder)")


def _args_create(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="agency name, e.g. CodeAgency")
    p.add_argument("--agents", help="specialists, comma-separated (default: from agency.json)")
    p.add_argument("--coordinator", help="the coordinator's name (default: from agency.json)")
    p.add_argument("--capabilities", help="capabilities, comma-separated")
    p.add_argument("--program", help="program for every agent, e.g. claude (default: the scripted agent)")
    p.add_argument(
        "--from",
        dest="template",
        metavar="AGENCY",
        help="start as a copy of another agency or starter, e.g. --from QAAgency",
    )


def _args_json_only(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true")


def _args_status(p: argparse.ArgumentParser) -> None:
    p.add_argument("agency", nargs="?")
    p.add_argument("--json", action="store_true")


def _args_kill(p: argparse.ArgumentParser) -> None:
    p.add_argument("agency")


def _args_send(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="+", metavar="ARG")
    p.add_argument("--type", help="STATUS, TASK, QUESTION, COMPLETE, BLOCKED or NOTE (default: from the text)")
    p.add_argument("--json", action="store_true")


def _args_send_inter(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="+", metavar="ARG")
    p.add_argument("--json", action="store_true")


def _args_broadcast(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="+", metavar="ARG")
    p.add_argument("--json", action="store_true")


def _args_deliver(p: argparse.ArgumentParser) -> None:
    p.add_argument("agency", nargs="?")


def _newest(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-n", "--limit", type=int, default=NEWEST, metavar="N", help=f"the newest N messages (default {NEWEST})"
    )
    p.add_argument("--all", action="store_true", help="every message, oldest first")


NEWEST = 50  # inbox and log show the newest messages: a long history costs only what is shown


def _args_inbox(p: argparse.ArgumentParser) -> None:
    p.add_argument("agency", nargs="?")
    p.add_argument("agent", nargs="?")
    _newest(p)
    p.add_argument("--json", action="store_true")


def _args_log(p: argparse.ArgumentParser) -> None:
    _newest(p)
    p.add_argument("--follow", "-f", action="store_true")
    p.add_argument("--agency")
    p.add_argument("--type")
    p.add_argument("--verify", action="store_true", help="check the log's hash chain")
    p.add_argument("--json", action="store_true")


def _args_deploy(p: argparse.ArgumentParser) -> None:
    p.add_argument("agency")
    p.add_argument("branch")
    p.add_argument("--test-command", help="instead of the agency's sandbox.test_command")


def _args_approvals(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="decided items too")
    p.add_argument("--json", action="store_true")


def _args_approve(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")


def _args_accept_base(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--branch", help="the base branch (default: the settings' base_branch, else the project's current branch)"
    )


def _args_reject(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("--feedback", required=True)


def _args_tui(p: argparse.ArgumentParser) -> None:
    p.add_argument("--snapshot", metavar="PATH.svg", help="render the screen headless to an SVG and exit")
    p.add_argument("--size", metavar="COLSxROWS", help="with --snapshot (default 120x40)")


def _args_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--headless", action="store_true", help="no control room: run to the approval queue and print what happened"
    )
    p.add_argument("--dir", help="build the demo here (an empty or new folder; default: a temporary one)")
    p.add_argument("--pace", type=float, help="seconds each agent waits before acting (default 1.5, headless 0.2)")
    p.add_argument("--timeout", type=float, default=240, help="headless: give up after this many seconds (default 240)")
    p.add_argument("--keep", action="store_true", help="headless: leave the agencies running afterwards")
    p.add_argument("--json", action="store_true", help="headless: the summary as JSON")


def _args_agent(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agency")
    p.add_argument("--name")
    p.add_argument("--pace", type=float, help="seconds a task takes (default: $TMUX_AGENCY_AGENT_PACE or 2)")


COMMANDS: list[
    tuple[str, Callable[[argparse.Namespace], int], str, Callable[[argparse.ArgumentParser], None] | None]
] = [
    ("demo", cmd_demo, "the whole story, live, with scripted agents: start here", _args_demo),
    ("init", cmd_init, "make a workspace with the five starter agencies", _args_init),
    ("create", cmd_create, "start an agency in its own tmux session", _args_create),
    ("list", cmd_list, "list registered agencies", _args_json_only),
    ("status", cmd_status, "windows, agents and whether each agent's program runs", _args_status),
    ("kill", cmd_kill, "stop an agency's session and unregister it", _args_kill),
    ("restore", cmd_restore, "re-create every registered agency whose session is gone", None),
    ("send", cmd_send, "send a message to an agent: send AGENCY AGENT TEXT (in a pane: send AGENT TEXT)", _args_send),
    ("send-inter", cmd_send_inter, "send a JSON message to another agency: send-inter FROM TO JSON", _args_send_inter),
    ("broadcast", cmd_broadcast, "send a JSON message to every active agency: broadcast FROM JSON", _args_broadcast),
    ("deliver", cmd_deliver, "deliver queued messages to agents that are back", _args_deliver),
    ("inbox", cmd_inbox, "messages to an agency or agent, with their delivery states", _args_inbox),
    ("log", cmd_log, "the message log", _args_log),
    ("deploy", cmd_deploy, "test a branch in the sandbox; green work joins the approval queue", _args_deploy),
    ("approvals", cmd_approvals, "the approval queue", _args_approvals),
    ("approval-cli", cmd_approval_cli, "review the approval queue interactively", None),
    ("approve", cmd_approve, "approve work: merge it into its base branch", _args_approve),
    (
        "accept-base",
        cmd_accept_base,
        "accept the base branch as it is, after an alert that it moved without an approval",
        _args_accept_base,
    ),
    ("reject", cmd_reject, "reject work: the feedback goes back to the agency", _args_reject),
    ("tui", cmd_tui, "the control room: agencies, message feed, task graph, approvals", _args_tui),
    (
        "schedule",
        cmd_schedule,
        "check-ins: schedule --in 30m|--every 30m TARGET TEXT, schedule list, schedule cancel ID",
        _args_schedule,
    ),
    (
        "run",
        cmd_run,
        "the head-less dispatcher: send due check-ins, deliver queued messages, send ready tasks (--once: one pass)",
        _args_run,
    ),
    ("agent", cmd_agent, "run the scripted agent (the stand-in for an AI CLI)", _args_agent),
    ("task", cmd_task, "the task graph: task add|list|show|dep|done|fail|cancel", _args_task),
    ("capabilities", cmd_capabilities, "each agency's capabilities, load and review record", _args_json_only),
    ("metrics", cmd_metrics, "completion, approval, response and handoff times, quality, lessons", _args_metrics),
    ("profiles", cmd_profiles, "agent program profiles: profiles classify --program NAME FILE", _args_profiles),
]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with `only` just the top level and that one command."""
    import argparse

    Parser = _parser_class()  # noqa: N806 - a class
    common = Parser(add_help=False)
    common.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help="the workspace folder (default: $TMUX_AGENCY_HOME, or the nearest above)",
    )
    common.add_argument(
        "--socket", default=argparse.SUPPRESS, help="tmux server socket name, as tmux -L (default: $TMUX_AGENCY_SOCKET)"
    )

    parser = Parser(
        prog=PROG, description="Teams of AI coding agents in tmux, with a human approval gate.", parents=[common]
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, func, help_, add_arguments in COMMANDS:
        if only is not None and name != only:
            continue
        p = sub.add_parser(name, help=help_, description=help_, parents=[common])
        p.set_defaults(func=func)
        if add_arguments is not None:
            add_arguments(p)
    return parser


def command_word(argv: Sequence[str]) -> str | None:
    """The command named in argv (after the global --home/--socket), if it is a known one."""
    words = iter(argv)
    for word in words:
        if word in ("--home", "--socket"):
            next(words, None)
        elif not word.startswith("-"):
            return word if any(word == name for name, *_ in COMMANDS) else None
        elif not word.startswith(("--home=", "--socket=")):
            return None  # --help or a mistake: the full parser explains
    return None
