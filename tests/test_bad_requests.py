"""Requests aiohttp's parser refuses: answered with the security headers, never with their bytes."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest
from yarl import URL

from chat import Settings, create_app

from .servers import running_server

ATTACK = b"<script>alert(4711)</script>"

MALFORMED = {
    "method": ATTACK + b" / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "target": b"GET /\x00" + ATTACK + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "version": b"GET / HTTP/1." + ATTACK + b"\r\nHost: 127.0.0.1\r\n\r\n",
    "header-name": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-" + ATTACK + b": 1\r\n\r\n",
    "header-value": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: " + ATTACK + b"\x01\r\n\r\n",
    "header-line-too-long": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: " + ATTACK * 1200 + b"\r\n\r\n",
    "not-utf-8": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\xff" + ATTACK + b"\r\n\r\n",
    "chunk-size": (
        b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + ATTACK + b"\r\n"
    ),
}


async def exchange(url: str, raw: bytes) -> bytes:
    """Send `raw` on a fresh connection; everything the server answers before it closes."""
    reader, writer = await asyncio.open_connection(URL(url).host, URL(url).port)
    try:
        writer.write(raw)
        return await asyncio.wait_for(reader.read(), 5)  # the server closes after a 400
    finally:
        writer.close()


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_request_gets_the_headers_and_not_its_bytes(
    settings: Settings, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_server(create_app(settings)) as url:
        answer = await exchange(url, raw)
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in header_lines)}
    assert status.split(" ", 2)[1] == "400"
    assert headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")
    assert headers["content-security-policy"].endswith("frame-ancestors 'self'")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["content-type"] == "application/json"
    assert orjson.loads(body) == {"error": {"code": "bad_request", "message": "The request is not valid HTTP."}}
    assert b"<script" not in answer and b"4711" not in answer
    # The log names the refusal in one line: no traceback, none of the bytes.
    assert [record.exc_info for record in caplog.records] == [None] * len(caplog.records)
    assert not any("4711" in record.getMessage() for record in caplog.records)
    assert any('code="bad_request"' in record.getMessage() for record in caplog.records)
