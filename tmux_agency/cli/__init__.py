"""The command line face: `tmux-agency COMMAND`."""

from tmux_agency.cli.commands import main

__all__ = ["main"]
