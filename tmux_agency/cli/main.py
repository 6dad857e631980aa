"""The `tmux-agency` entry point: parse (an agent's plain `send` without argparse), run one
command, and turn any failure into one line and an exit status."""

from __future__ import annotations

import os
import sys

from tmux_agency.models.errors import AgencyError, UsageError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    from collections.abc import Sequence

from tmux_agency.cli.messages import cmd_send
from tmux_agency.cli.plumbing import PROG, check_utf8, error_line


def _plain_send(argv: list[str]) -> object | None:
    """`send AGENCY AGENT TEXT` or `send AGENT TEXT`, the way agents call it all day, parsed
    without argparse; anything else (options, help, a text starting with '-', a mistake) is
    left to the full parser."""
    if argv[:1] != ["send"] or len(argv) not in (3, 4) or any(word.startswith("-") for word in argv[1:]):
        return None
    from types import SimpleNamespace

    return SimpleNamespace(func=cmd_send, words=argv[1:], type=None, json=False, home=None, socket=None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        check_utf8(argv)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.exit_code
    args = _plain_send(argv)
    if args is None:
        from tmux_agency.cli.parser import build_parser, command_word  # not needed by a plain send

        parser = build_parser(only=command_word(argv))
        args = parser.parse_args(argv)
        for name in ("home", "socket"):
            if not hasattr(args, name):
                setattr(args, name, None)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
    try:
        return args.func(args)  # type: ignore[attr-defined]  # a Namespace, or _plain_send's stand-in
    except AgencyError as exc:
        print(f"{PROG}: {error_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except RecursionError:  # JSON nested thousands deep in a file the user wrote (agency.json, ...)
        print(f"{PROG}: the JSON is nested too deeply (a file or an argument of this command)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("TMUX_AGENCY_DEBUG"):
            raise
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {exc} (set TMUX_AGENCY_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
