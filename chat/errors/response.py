"""The one place a `ChatError` becomes an HTTP answer, before any byte of a stream: a JSON body
`{"error": {"code", "message", "retry_after"?}}` with the code's status. In a stream that has begun,
the relay sends the same `payload()` as an `error` event instead."""

from __future__ import annotations

import orjson
from aiohttp import web

from chat.errors.chat_error import ChatError


def error_response(error: ChatError) -> web.Response:
    return web.Response(
        status=error.status,
        body=orjson.dumps({"error": error.payload()}),
        content_type="application/json",
        headers=error.headers,
    )
