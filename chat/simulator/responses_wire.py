"""The Responses API's streaming event shapes, exactly as a deployment sends them."""

from __future__ import annotations

from typing import Any

RESPONSE_ID = "resp_simulated"
REASONING_ID = "rs_simulated"
MESSAGE_ID = "msg_simulated"


def response(model: str, status: str, usage: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1732500000,
        "status": status,
        "model": model,
        "output": [],
        "store": False,
        "usage": usage,
        "error": None,
        "incomplete_details": None,
        **extra,
    }


def usage(input_tokens: int, output_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens + reasoning_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens + reasoning_tokens,
    }


def summary_part_added(summary_index: int) -> dict[str, Any]:
    return {
        "type": "response.reasoning_summary_part.added",
        "item_id": REASONING_ID,
        "output_index": 0,
        "summary_index": summary_index,
        "part": {"type": "summary_text", "text": ""},
    }


def summary_delta(summary_index: int, delta: str) -> dict[str, Any]:
    return {
        "type": "response.reasoning_summary_text.delta",
        "item_id": REASONING_ID,
        "output_index": 0,
        "summary_index": summary_index,
        "delta": delta,
    }


def output_item_added(kind: str) -> dict[str, Any]:
    if kind == "reasoning":
        item: dict[str, Any] = {"id": REASONING_ID, "type": "reasoning", "summary": []}
    else:
        item = {"id": MESSAGE_ID, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    return {"type": "response.output_item.added", "output_index": 0 if kind == "reasoning" else 1, "item": item}


def text_delta(delta: object) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "item_id": MESSAGE_ID,
        "output_index": 1,
        "content_index": 0,
        "delta": delta,
        "logprobs": [],
    }


def text_done(text: str) -> dict[str, Any]:
    return {
        "type": "response.output_text.done",
        "item_id": MESSAGE_ID,
        "output_index": 1,
        "content_index": 0,
        "text": text,
        "logprobs": [],
    }


def error_event(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "param": None}
