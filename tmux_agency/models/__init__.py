"""Models: the shapes of what tmux-agency stores and exchanges (names, errors, payloads, the
stored documents). The bottom layer: imports nothing of the package above it."""
