"""A local stand-in for Anthropic's Messages API, so a real Claude Code runs with no network.

Point Claude Code at it with `ANTHROPIC_BASE_URL=http://127.0.0.1:PORT` (and any API key): it
answers `POST /v1/messages` as the real API does — streamed server-sent events, or one JSON
object — with replies chosen from the last thing the user typed:

* `tool:bash COMMAND` — a Bash tool call running COMMAND (Claude Code then asks permission);
* `slow` anywhere — a reply streamed over `SLOW_S` seconds (Claude Code shows it is busy);
* `fail:400` anywhere — an HTTP 400 error (Claude Code shows an API error and waits again);
* after a tool's result — "done.";
* anything else — "Understood: " and the first words of the text.

The recordings of real screens (tests/data/captures/record_real.py) and the tests that drive a
real Claude Code use it; `python -m tmux_agency.standin_api --port N` serves until stopped.
Every request is appended to `--log FILE` (one JSON line each) for tests to read.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLOW_S = float(os.environ.get("TMUX_AGENCY_STANDIN_SLOW_S", "30"))
MODEL = "claude-standin"


def typed_text(request: dict[str, Any]) -> str | None:
    """What the user last typed, from a Messages API request body; None when the request
    carries a tool's result instead."""
    # The last message from the user (Claude Code may append one of role "system" after it);
    # its reminders come as text blocks of their own, and after an API error the next text is
    # added to the same message: the last block that is not a reminder is what was typed.
    users = [m for m in request.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    blocks = content if isinstance(content, list) else [{"type": "text", "text": str(content or "")}]
    if blocks and isinstance(blocks[-1], dict) and blocks[-1].get("type") == "tool_result":
        return None
    texts = [b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
    typed = [t for t in texts if not t.lstrip().startswith("<system-reminder>")]
    return (typed or texts or [""])[-1]


def reply_for(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The content blocks to answer `request` (a Messages API request body) with."""
    text = typed_text(request)
    if text is None:
        return [{"type": "text", "text": "done."}]
    if "tool:bash " in text:
        command = text.split("tool:bash ", 1)[1].strip().splitlines()[0]
        return [{"type": "tool_use", "id": f"toolu_{time.monotonic_ns()}", "name": "Bash",
                 "input": {"command": command, "description": "Run the command the user asked for"}}]  # fmt: skip
    words = " ".join(text.split()[:12]) or "(nothing)"
    return [{"type": "text", "text": f"Understood: {words}"}]


def _events(blocks: list[dict[str, Any]], slow: bool) -> list[tuple[str, dict[str, Any]]]:
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    usage = {"input_tokens": 10, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": {
        "id": f"msg_{time.monotonic_ns()}", "type": "message", "role": "assistant", "model": MODEL, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": usage}})]  # fmt: skip
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}))
            pieces = block["text"].split(" ") if slow else [block["text"]]
            for n, piece in enumerate(pieces):
                chunk = piece if n == 0 else " " + piece
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": chunk}}))
        else:
            start = {**block, "input": {}}
            events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
            partial = json.dumps(block["input"])
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": partial}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 5}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


class _Handler(BaseHTTPRequestHandler):
    server: StandIn

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: the request log is the server's `log` file

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        self.server.record(self.path, body)
        if not self.path.split("?")[0].endswith("/v1/messages"):
            self._json({"input_tokens": 10} if "count_tokens" in self.path else {})
            return
        typed = typed_text(body) or ""
        if "fail:400" in typed:
            self._json({"type": "error", "error": {"type": "invalid_request_error", "message": "the stand-in was asked to fail"}}, 400)
            return
        blocks = reply_for(body)
        text = " ".join(b.get("text", "") for b in blocks)
        slow = "slow" in typed
        if not body.get("stream"):
            self._json({"id": "msg_standin", "type": "message", "role": "assistant", "model": MODEL, "content": blocks,
                        "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": len(text)}})  # fmt: skip
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        events = _events(blocks, slow)
        pause = SLOW_S / max(1, len(events)) if slow else 0.0
        try:
            for name, data in events:
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the user pressed Esc: Claude Code hung up

    def do_GET(self) -> None:
        self.server.record(self.path, None)
        self._json({})

    def _json(self, data: dict[str, Any], status: int = 200) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class StandIn(ThreadingHTTPServer):
    """The server; `start()` serves from a thread, `url` is what ANTHROPIC_BASE_URL gets."""

    daemon_threads = True

    def __init__(self, port: int = 0, log: str | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.log_path = log
        self.requests: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, path: str, body: Any) -> None:
        with self._lock:
            self.requests.append((path, body))
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"path": path, "body": body}) + "\n")

    def start(self) -> StandIn:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tmux_agency.standin_api", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one, printed)")
    parser.add_argument("--log", help="append every request to this file, one JSON line each")
    args = parser.parse_args(argv)
    server = StandIn(args.port, args.log)
    print(server.url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
