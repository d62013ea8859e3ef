"""Azure OpenAI's chat-completions wire shapes, exactly as a deployment sends them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

SAFE = {"filtered": False, "severity": "safe"}
CONTENT_FILTER_RESULTS = {"hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}
MODEL = "gpt-4o-2024-11-20"
DONE = b"data: [DONE]\n\n"


def chunk(
    delta: dict[str, Any], *, finish_reason: str | None = None, model: str = MODEL, annotated: bool = True
) -> dict[str, Any]:
    """One `chat.completion.chunk`; the synchronous filter annotates each piece of text as it goes."""
    return {
        "choices": [
            {
                "content_filter_results": CONTENT_FILTER_RESULTS if annotated and delta.get("content") else {},
                "delta": delta,
                "finish_reason": finish_reason,
                "index": 0,
                "logprobs": None,
            }
        ],
        "created": 1732500000,
        "id": "chatcmpl-simulated",
        "model": model,
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


def annotation_chunk(end_offset: int, *, flagged: bool = False) -> dict[str, Any]:
    """A late annotation the way Azure's asynchronous filter sends it: a choice with no delta at all,
    covering the text up to `end_offset`."""
    results = (
        {**CONTENT_FILTER_RESULTS, "violence": {"filtered": True, "severity": "high"}}
        if flagged
        else (CONTENT_FILTER_RESULTS)
    )
    return {
        **chunk({}),
        "choices": [
            {
                "index": 0,
                "finish_reason": None,
                "content_filter_results": results,
                "content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": end_offset},
            }
        ],
    }


def usage_chunk(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int | None = None) -> dict[str, Any]:
    """The last chunk, with `stream_options.include_usage`; reasoning models count their thinking too."""
    usage: dict[str, Any] = {
        "completion_tokens": completion_tokens + (reasoning_tokens or 0),
        "prompt_tokens": prompt_tokens,
        "total_tokens": completion_tokens + (reasoning_tokens or 0) + prompt_tokens,
    }
    if reasoning_tokens is not None:
        usage["completion_tokens_details"] = {
            "reasoning_tokens": reasoning_tokens,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
            "audio_tokens": 0,
        }
        usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
    return {**chunk({}), "choices": [], "usage": usage}


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
