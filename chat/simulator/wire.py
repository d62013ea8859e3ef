"""Azure OpenAI's chat-completions wire shapes, exactly as a deployment sends them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

SAFE = {"filtered": False, "severity": "safe"}
CONTENT_FILTER_RESULTS = {"hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}
MODEL = "gpt-4o-2024-11-20"
DONE = b"data: [DONE]\n\n"


def chunk(delta: dict[str, Any], *, finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "choices": [
            {
                "content_filter_results": CONTENT_FILTER_RESULTS if delta.get("content") else {},
                "delta": delta,
                "finish_reason": finish_reason,
                "index": 0,
                "logprobs": None,
            }
        ],
        "created": 1732500000,
        "id": "chatcmpl-simulated",
        "model": MODEL,
        "object": "chat.completion.chunk",
        "system_fingerprint": "fp_simulated",
    }


def prompt_filter_chunk() -> dict[str, Any]:
    """Azure's first chunk: the prompt's filter results, no choices."""
    return {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": CONTENT_FILTER_RESULTS}],
    }


def annotation_chunk() -> dict[str, Any]:
    """A late annotation the way Azure's asynchronous filter sends it: a choice with no delta at all."""
    return {
        **chunk({}),
        "choices": [
            {
                "index": 0,
                "finish_reason": None,
                "content_filter_results": CONTENT_FILTER_RESULTS,
                "content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": 1},
            }
        ],
    }


def usage_chunk(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        **chunk({}),
        "choices": [],
        "usage": {
            "completion_tokens": completion_tokens,
            "prompt_tokens": prompt_tokens,
            "total_tokens": completion_tokens + prompt_tokens,
        },
    }


def error_event(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def completion(answer: str) -> dict[str, Any]:
    """The whole answer at once, for a request without `stream`."""
    return {
        "id": "chatcmpl-simulated",
        "object": "chat.completion",
        "model": MODEL,
        "created": 1732500000,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}],
    }


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status, headers=headers)


def without_filter_results(chunk: dict[str, Any]) -> dict[str, Any]:
    """The same chunk in the plain OpenAI dialect, which has no content filters."""
    for choice in chunk.get("choices", ()):
        choice.pop("content_filter_results", None)
    return chunk
