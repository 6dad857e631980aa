"""Who hears of the bus's traffic: listeners called with (bus, messages) once messages are kept.

The task graph follows the bus this way (taskhook.py, connected in services/__init__.py), so the
bus never imports the task graph, which itself sends through the bus. Nothing heavy is imported
here: every agent's `send` passes through.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's (see doors/registry.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Listener = Callable[[Any, list[dict[str, Any]]], None]

_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Call `listener(bus, messages)` after every batch of messages the bus keeps."""
    if listener not in _listeners:
        _listeners.append(listener)


def tell(bus: Any, messages: list[dict[str, Any]]) -> None:
    for listener in list(_listeners):
        listener(bus, messages)
