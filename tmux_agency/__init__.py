"""tmux-agency: teams of AI coding agents in tmux, with a human approval gate."""

__version__ = "0.1.0"
