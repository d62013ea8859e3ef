"""Errors as values at the edge: a stable code, a message written for people, an HTTP status."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web


class ChatError(Exception):
    """A failure the client is told about, before the stream (HTTP error) or during it (SSE event)."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.headers: dict[str, str] = {}
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            payload["retry_after"] = self.retry_after
        return payload

    def to_response(self) -> web.Response:
        return web.Response(
            status=self.status,
            body=orjson.dumps({"error": self.payload()}),
            content_type="application/json",
            headers=self.headers,
        )
