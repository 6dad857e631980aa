"""Doors: the only ways out of the process - the registry (TinyDB files and the append-only
logs), tmux (through libtmux), the process table, git and the workspace's folders. Services use
them; they import nothing but models."""
