"""`python -m tmux_agency` is the same as the `tmux-agency` command."""

from tmux_agency.cli import main

raise SystemExit(main())
