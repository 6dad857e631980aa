"""The local stand-in of the agents' model APIs answers as the real CLIs expect (they were
recorded against it: tests/data/captures/record_real.py)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tmux_agency.demo.standin_api import StandIn


@pytest.fixture
def api() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.shutdown()
    server.server_close()


def post(api: StandIn, path: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(api.url + path, json.dumps(body).encode(), {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def events(stream: str) -> list[str]:
    return [line[len("data: ") :] for line in stream.splitlines() if line.startswith("data: ")]


def test_chat_completions_stream_a_reply_as_aider_reads_it(api: StandIn) -> None:
    status, body = post(
        api,
        "/v1/chat/completions",
        {
            "model": "standin",
            "stream": True,
            "messages": [{"role": "system", "content": "You are aider."}, {"role": "user", "content": "hello there"}],
        },
    )
    assert status == 200
    *chunks, done = events(body)
    assert done == "[DONE]"
    parsed = [json.loads(chunk) for chunk in chunks]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in parsed)
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in parsed)
    assert text == "Understood: hello there"
    assert parsed[-1]["choices"][0]["finish_reason"] == "stop"
    assert api.requests[-1][0] == "/v1/chat/completions"


def test_chat_completions_offer_a_shell_command_and_fail_on_request(api: StandIn) -> None:
    status, body = post(
        api, "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "tool:bash touch x"}]}
    )
    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["content"].endswith("```bash\ntouch x\n```\n")
    status, body = post(
        api, "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "fail:400 now"}]}
    )
    assert status == 400 and json.loads(body)["error"]["type"] == "invalid_request_error"


def gemini_request(text: str, **extra: object) -> dict:
    context = {"text": "<session_context>\nThis is the Gemini CLI.</session_context>"}
    return {"contents": [{"role": "user", "parts": [context, {"text": text}]}], **extra}


def test_gemini_streams_a_reply_to_what_was_typed_not_to_its_context(api: StandIn) -> None:
    status, body = post(api, "/v1beta/models/gemini-x:streamGenerateContent?alt=sse", gemini_request("hello there"))
    assert status == 200
    [event] = [json.loads(e) for e in events(body)]
    candidate = event["candidates"][0]
    assert candidate["content"] == {"role": "model", "parts": [{"text": "Understood: hello there"}]}
    assert candidate["finishReason"] == "STOP"


def test_gemini_asks_to_run_a_shell_command_and_answers_its_result(api: StandIn) -> None:
    _, body = post(api, "/v1beta/models/gemini-x:streamGenerateContent?alt=sse", gemini_request("tool:bash touch x"))
    [event] = [json.loads(e) for e in events(body)]
    call = event["candidates"][0]["content"]["parts"][0]["functionCall"]
    assert call["name"] == "run_shell_command" and call["args"]["command"] == "touch x"
    result = {
        "contents": [{"role": "user", "parts": [{"functionResponse": {"name": "run_shell_command", "response": {}}}]}]
    }
    _, body = post(api, "/v1beta/models/gemini-x:streamGenerateContent?alt=sse", result)
    assert json.loads(events(body)[0])["candidates"][0]["content"]["parts"] == [{"text": "done."}]


def test_gemini_routers_question_gets_a_score_and_a_400_is_an_error(api: StandIn) -> None:
    schema = {
        "type": "OBJECT",
        "properties": {"complexity_reasoning": {"type": "STRING"}, "complexity_score": {"type": "INTEGER"}},
    }
    config = {"responseMimeType": "application/json", "responseJsonSchema": schema}
    status, body = post(
        api, "/v1beta/models/gemini-lite:generateContent", gemini_request("fail:400 now", generationConfig=config)
    )
    assert status == 200
    answer = json.loads(json.loads(body)["candidates"][0]["content"]["parts"][0]["text"])
    assert isinstance(answer["complexity_score"], int)
    status, body = post(api, "/v1beta/models/gemini-x:streamGenerateContent?alt=sse", gemini_request("fail:400 now"))
    assert status == 400 and json.loads(body)["error"]["status"] == "INVALID_ARGUMENT"
