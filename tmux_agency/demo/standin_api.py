"""A local stand-in for Anthropic's Messages API, so a real Claude Code runs with no network —
and for OpenAI's Chat Completions API (aider), OpenAI's Responses API (Codex) and Google's
Gemini API (Gemini CLI).

Point Claude Code at it with `ANTHROPIC_BASE_URL=http://127.0.0.1:PORT` (and any API key): it
answers `POST /v1/messages` as the real API does — streamed server-sent events, or one JSON
object. Point aider at it with `--openai-api-base http://127.0.0.1:PORT/v1 --model
openai/standin`: it answers `POST /v1/chat/completions` (streamed chunks, or one JSON object).
Point Codex at it with a model provider of its own in `~/.codex/config.toml` (`base_url =
"http://127.0.0.1:PORT/v1"`, `wire_api = "responses"`, `env_key` naming a variable that holds
any key): it answers `POST /v1/responses` with the Responses API's streamed events.
Point Gemini CLI at it with `GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:PORT`: it answers
`POST /v1beta/models/MODEL:streamGenerateContent` (server-sent events) and `:generateContent`
(its model router's JSON question gets a low complexity score).
Replies are chosen from the last thing the user typed:

* `tool:bash COMMAND` — a Bash tool call running COMMAND (Claude Code then asks permission); for
  Chat Completions, a reply with COMMAND in a ```bash block (aider then offers to run it); for
  Gemini, a `run_shell_command` function call (Gemini CLI then asks to allow it); for the
  Responses API, an `exec_command` call asking to run outside the sandbox (Codex then asks);
* `slow` anywhere — a reply streamed over `SLOW_S` seconds (Claude Code shows it is busy);
* `fail:400` anywhere — an HTTP 400 error (Claude Code shows an API error and waits again);
* after a tool's result — "done.";
* anything else — "Understood: " and the first words of the text.

The recordings of real screens (tests/data/captures/record_real.py) and the tests that drive a
real Claude Code use it; `python -m tmux_agency.demo.standin_api --port N` serves until stopped.
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
        return [
            {
                "type": "tool_use",
                "id": f"toolu_{time.monotonic_ns()}",
                "name": "Bash",
                "input": {"command": command, "description": "Run the command the user asked for"},
            }
        ]
    words = " ".join(text.split()[:12]) or "(nothing)"
    return [{"type": "text", "text": f"Understood: {words}"}]


def _events(blocks: list[dict[str, Any]], slow: bool) -> list[tuple[str, dict[str, Any]]]:
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    usage = {"input_tokens": 10, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": f"msg_{time.monotonic_ns()}",
                    "type": "message",
                    "role": "assistant",
                    "model": MODEL,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": usage,
                },
            },
        )
    ]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                )
            )
            pieces = block["text"].split(" ") if slow else [block["text"]]
            for n, piece in enumerate(pieces):
                chunk = piece if n == 0 else " " + piece
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": chunk}},
                    )
                )
        else:
            start = {**block, "input": {}}
            events.append(
                ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
            )
            partial = json.dumps(block["input"])
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": partial},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def chat_typed_text(request: dict[str, Any]) -> str:
    """What the user last typed, from a Chat Completions request body."""
    users = [m for m in request.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return str(content or "")


def chat_reply_for(request: dict[str, Any]) -> str:
    """The text to answer a Chat Completions request with."""
    text = chat_typed_text(request)
    if "tool:bash " in text:
        command = text.split("tool:bash ", 1)[1].strip().splitlines()[0]
        return f"Run this:\n\n```bash\n{command}\n```\n"
    return f"Understood: {' '.join(text.split()[:12]) or '(nothing)'}"


def _chat_chunks(text: str, model: str, slow: bool) -> list[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    pieces = text.split(" ") if slow else [text]
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    for n, piece in enumerate(pieces):
        chunk = piece if n == 0 else " " + piece
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": chunk}, "finish_reason": None}]})
    chunks.append(
        {
            **base,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10 + len(pieces)},
        }
    )
    return chunks


def responses_typed_text(request: dict[str, Any]) -> str | None:
    """What the user last typed, from a Responses API request body; None when the last input
    is a tool's output."""
    items = [i for i in request.get("input") or [] if isinstance(i, dict)]
    if items and items[-1].get("type") == "function_call_output":
        return None
    users = [i for i in items if i.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    if isinstance(content, list):
        texts = [
            str(c.get("text", "")) for c in content if isinstance(c, dict) and c.get("type") in ("input_text", "text")
        ]
        return texts[-1] if texts else ""
    return str(content or "")


def responses_output_for(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The output items to answer a Responses API request with."""
    stamp = time.monotonic_ns()
    fmt = (request.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":  # Codex asks for a title for the task
        properties = (fmt.get("schema") or {}).get("properties") or {}
        answer = json.dumps({name: "Stand-in task" for name in properties})
        return [_responses_message(answer, stamp)]
    text = responses_typed_text(request)
    if text is None:
        return [_responses_message("done.", stamp)]
    if "tool:bash " in text:
        command = text.split("tool:bash ", 1)[1].strip().splitlines()[0]
        arguments = {
            "cmd": command,
            "sandbox_permissions": "require_escalated",
            "justification": "Run the command the user asked for?",
        }
        return [
            {
                "type": "function_call",
                "id": f"fc_{stamp}",
                "call_id": f"call_{stamp}",
                "name": "exec_command",
                "arguments": json.dumps(arguments),
                "status": "completed",
            }
        ]
    return [_responses_message(f"Understood: {' '.join(text.split()[:12]) or '(nothing)'}", stamp)]


def _responses_message(text: str, stamp: int) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"msg_{stamp}",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _responses_events(output: list[dict[str, Any]], model: str, slow: bool) -> list[dict[str, Any]]:
    response = {
        "id": f"resp_{time.monotonic_ns()}",
        "object": "response",
        "created_at": int(time.time()),
        "model": model,
        "status": "in_progress",
        "output": [],
    }
    events: list[dict[str, Any]] = [{"type": "response.created", "response": response}]
    for index, item in enumerate(output):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            events.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {**item, "status": "in_progress", "content": []},
                }
            )
            pieces = text.split(" ") if slow else [text]
            for n, piece in enumerate(pieces):
                events.append(
                    {
                        "type": "response.output_text.delta",
                        "item_id": item["id"],
                        "output_index": index,
                        "content_index": 0,
                        "delta": piece if n == 0 else " " + piece,
                    }
                )
        else:
            events.append({"type": "response.output_item.added", "output_index": index, "item": item})
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 15,
    }
    events.append(
        {
            "type": "response.completed",
            "response": {**response, "status": "completed", "output": output, "usage": usage},
        }
    )
    return events


def gemini_typed_text(request: dict[str, Any]) -> str | None:
    """What the user last typed, from a Gemini API request body; None when the last turn
    carries a function's result instead."""
    contents = [c for c in request.get("contents") or [] if isinstance(c, dict)]
    parts = [p for p in (contents[-1].get("parts") or []) if isinstance(p, dict)] if contents else []
    if any("functionResponse" in part for part in parts):
        return None
    texts = [str(part["text"]) for part in parts if "text" in part]
    return texts[-1] if texts else ""  # Gemini CLI puts its session context first


def gemini_reply_for(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The content parts to answer a Gemini API request with."""
    config = request.get("generationConfig") or {}
    schema = json.dumps(config.get("responseJsonSchema") or config.get("responseSchema") or {})
    if "complexity_score" in schema:  # Gemini CLI's model router asks how hard the request is
        return [
            {
                "text": json.dumps(
                    {"complexity_reasoning": "The stand-in finds everything simple.", "complexity_score": 10}
                )
            }
        ]
    if config.get("responseMimeType") == "application/json":
        return [{"text": "{}"}]
    text = gemini_typed_text(request)
    if text is None:
        return [{"text": "done."}]
    if "tool:bash " in text:
        command = text.split("tool:bash ", 1)[1].strip().splitlines()[0]
        return [
            {
                "functionCall": {
                    "name": "run_shell_command",
                    "args": {"command": command, "description": "Run the command the user asked for"},
                }
            }
        ]
    return [{"text": f"Understood: {' '.join(text.split()[:12]) or '(nothing)'}"}]


def _gemini_response(parts: list[dict[str, Any]], last: bool = True) -> dict[str, Any]:
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0, **({"finishReason": "STOP"} if last else {})}
    return {
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
        "modelVersion": "gemini-standin",
    }


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
        if self.path.split("?")[0].endswith("/chat/completions"):
            self._chat(body)
            return
        if self.path.split("?")[0].endswith("/responses"):
            self._responses(body)
            return
        if ":generateContent" in self.path or ":streamGenerateContent" in self.path:
            self._gemini(body, stream=":streamGenerateContent" in self.path)
            return
        if not self.path.split("?")[0].endswith("/v1/messages"):
            self._json({"input_tokens": 10} if "count_tokens" in self.path else {})
            return
        typed = typed_text(body) or ""
        if "fail:400" in typed:
            self._json(
                {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "the stand-in was asked to fail"},
                },
                400,
            )
            return
        blocks = reply_for(body)
        text = " ".join(b.get("text", "") for b in blocks)
        slow = "slow" in typed
        if not body.get("stream"):
            self._json(
                {
                    "id": "msg_standin",
                    "type": "message",
                    "role": "assistant",
                    "model": MODEL,
                    "content": blocks,
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 10, "output_tokens": len(text)},
                }
            )
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

    def _chat(self, body: dict[str, Any]) -> None:
        """OpenAI's Chat Completions: `data:` chunks ending in `data: [DONE]`, or one object."""
        typed = chat_typed_text(body)
        if "fail:400" in typed:
            self._json(
                {"error": {"message": "the stand-in was asked to fail", "type": "invalid_request_error", "code": None}},
                400,
            )
            return
        text, model = chat_reply_for(body), str(body.get("model") or MODEL)
        if not body.get("stream"):
            self._json(
                {
                    "id": "chatcmpl-standin",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
            )
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        chunks = _chat_chunks(text, model, "slow" in typed)
        pause = SLOW_S / len(chunks) if "slow" in typed else 0.0
        try:
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(pause)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the user interrupted: the client hung up

    def _responses(self, body: dict[str, Any]) -> None:
        """OpenAI's Responses API, streamed: `event:`/`data:` pairs from `response.created` to
        `response.completed`."""
        typed = responses_typed_text(body) or ""
        if "fail:400" in typed and not (body.get("text") or {}).get("format"):
            self._json(
                {"error": {"message": "the stand-in was asked to fail", "type": "invalid_request_error", "code": None}},
                400,
            )
            return
        output = responses_output_for(body)
        if not body.get("stream"):
            self._json(
                {
                    "id": "resp_standin",
                    "object": "response",
                    "status": "completed",
                    "model": body.get("model"),
                    "output": output,
                }
            )
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        slow = "slow" in typed
        events = _responses_events(output, str(body.get("model") or MODEL), slow)
        try:
            for event in events:
                self.wfile.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
                time.sleep(SLOW_S / len(events) if slow else 0.0)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the user pressed Esc: the client hung up

    def _gemini(self, body: dict[str, Any], stream: bool) -> None:
        """Google's Gemini API: one JSON object, or (`alt=sse`) `data:` events, each a response
        with part of the reply."""
        typed = gemini_typed_text(body) or ""
        if "fail:400" in typed and "responseJsonSchema" not in (body.get("generationConfig") or {}):
            self._json(
                {"error": {"code": 400, "message": "the stand-in was asked to fail", "status": "INVALID_ARGUMENT"}}, 400
            )
            return
        parts = gemini_reply_for(body)
        if not stream:
            self._json(_gemini_response(parts))
            return
        slow = "slow" in typed and "text" in parts[0]
        if slow:
            words = parts[0]["text"].split(" ")
            pieces = [[{"text": w if n == 0 else " " + w}] for n, w in enumerate(words)]
        else:
            pieces = [parts]
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        try:
            for n, piece in enumerate(pieces):
                event = _gemini_response(piece, last=n == len(pieces) - 1)
                self.wfile.write(f"data: {json.dumps(event)}\r\n\r\n".encode())
                self.wfile.flush()
                time.sleep(SLOW_S / len(pieces) if slow else 0.0)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the user pressed Esc: the client hung up

    def do_GET(self) -> None:
        self.server.record(self.path, None)
        if self.path.split("?")[0].endswith("/models"):
            self._json(
                {"object": "list", "data": [{"id": "standin", "object": "model", "created": 0, "owned_by": "standin"}]}
            )
            return
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

    parser = argparse.ArgumentParser(prog="python -m tmux_agency.demo.standin_api", description=__doc__.splitlines()[0])
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
