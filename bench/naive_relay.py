"""A deliberately naive relay, the yardstick the benchmark holds the real one against.

It is what the SDK's streaming example leads to: `create(stream=True)`, a typed pydantic chunk per
token, one `write` per chunk, aiohttp's default run options. Same request, same SSE events
(`delta`, then `done`) as `POST /api/chat`, no validation, no limits, no error mapping.

    python -m bench.naive_relay --port 8081   # with AZURE_OPENAI_ENDPOINT, _API_KEY, _DEPLOYMENT set
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import AsyncIterator

import openai
from aiohttp import web

client_key = web.AppKey("client_key", openai.AsyncAzureOpenAI)

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


def event(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


async def post_chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    stream = await request.app[client_key].chat.completions.create(
        model=os.environ["AZURE_OPENAI_DEPLOYMENT"], messages=body["messages"], stream=True
    )
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    finish_reason = None
    async for chunk in stream:
        if chunk.choices:
            choice = chunk.choices[0]
            if choice.delta and choice.delta.content:
                await response.write(event("delta", {"content": choice.delta.content}))
            finish_reason = choice.finish_reason or finish_reason
    await response.write(event("done", {"finish_reason": finish_reason or "stop", "usage": None}))
    await response.write_eof()
    return response


async def client_context(app: web.Application) -> AsyncIterator[None]:
    app[client_key] = openai.AsyncAzureOpenAI(api_version="2024-10-21")  # the rest from the environment
    yield
    await app[client_key].close()


def create_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(client_context)
    app.router.add_post("/api/chat", post_chat)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="A naive streaming relay, for comparison.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    web.run_app(
        create_app(),
        host=args.host,
        port=args.port,
        print=lambda _: print(f"chat server on http://{args.host}:{args.port}/ (naive relay)", flush=True),
    )


if __name__ == "__main__":
    main()
