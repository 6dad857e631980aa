"""The command line face: `tmux-agency COMMAND`. main.py is the entry point, parser.py the grammar,
one module per family of commands, render.py how results print, plumbing.py what they share.

Imports of the services happen inside each command, so that `send` - which every agent calls
constantly - loads only what it needs (never Textual).
"""

from tmux_agency.cli.main import main

__all__ = ["main"]
