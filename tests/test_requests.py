"""Every malformed request is refused before any upstream work, with a clear 4xx and a stable code."""

from __future__ import annotations

import io

import pytest

from chat.simulator import Simulator

from .typedefs import Client

TOO_MANY = {"messages": [{"role": "user", "content": "x"}] * 201}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "text/plain", 415, "unsupported_media_type"),
        (b"[]", "application/json", 400, "invalid_request"),
        (b'{"messages": []}', "application/json", 400, "invalid_request"),
        (b'{"messages": "hi"}', "application/json", 400, "invalid_request"),
        (b'{"messages": [{"role": "tool", "content": "hi"}]}', "application/json", 400, "invalid_request"),
        (b'{"messages": [{"role": "user", "content": 5}]}', "application/json", 400, "invalid_request"),
        (b'{"messages": [{"role": "user"}]}', "application/json", 400, "invalid_request"),
        (b'{"messages": [{"role": "user", "content": "hi", "name": "x"}]}', "application/json", 400, "invalid_request"),
        (
            b'{"messages": [{"role": "user", "content": "hi"}], "model": "gpt-5"}',
            "application/json",
            400,
            "invalid_request",
        ),
        (
            b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}',
            "application/json",
            400,
            "invalid_request",
        ),
        (b'{"messages": [{"role": "user", "content": "   "}]}', "application/json", 400, "invalid_request"),
        (
            b'{"messages": [{"role": "user", "content": "' + b"x" * 32_001 + b'"}]}',
            "application/json",
            400,
            "message_too_long",
        ),
        (
            b'{"messages": [' + b",".join([b'{"role": "user", "content": "' + b"x" * 30_000 + b'"}'] * 7) + b"]}",
            "application/json",
            400,
            "conversation_too_long",
        ),
        (b" " * (1024 * 1024 + 1), "application/json", 413, "body_too_large"),
    ],
    ids=[
        "bad-json",
        "wrong-type",
        "not-object",
        "empty",
        "not-list",
        "bad-role",
        "not-text",
        "no-content",
        "extra-field",
        "unknown-top-field",
        "ends-with-assistant",
        "blank",
        "message-too-long",
        "conversation-too-long",
        "body-too-large",
    ],
)
async def test_bad_request_is_refused_clearly(
    client: Client, simulator: Simulator, body: bytes, content_type: str, status: int, code: str
) -> None:
    response = await client.post("/api/chat", data=io.BytesIO(body), headers={"Content-Type": content_type})
    assert response.status == status
    assert response.content_type == "application/json"
    error = (await response.json())["error"]
    assert error["code"] == code
    assert len(error["message"]) > 10
    assert simulator.requests == []


async def test_too_many_messages(client: Client, simulator: Simulator) -> None:
    response = await client.post("/api/chat", json=TOO_MANY)
    assert response.status == 400
    assert (await response.json())["error"] == {
        "code": "too_many_messages",
        "message": "The conversation has 201 messages; the limit is 200.",
    }
    assert simulator.requests == []


async def test_get_on_the_api_is_method_not_allowed(client: Client) -> None:
    response = await client.get("/api/chat")
    assert response.status == 405
