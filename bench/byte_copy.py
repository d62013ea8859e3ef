"""A byte-copy proxy: the least CPU a Python relay can spend per stream, the benchmark's floor.

It forwards the request to the upstream as it came and copies the answer's bytes back as they
arrive, with aiohttp on both sides: no SDK, no parsing, no events of its own. The load generator
reads Azure's own SSE from it, as from the upstream directly.

    python -m bench.byte_copy --port 8082   # with AZURE_OPENAI_ENDPOINT set
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

session_key = web.AppKey("session_key", aiohttp.ClientSession)
upstream_key = web.AppKey("upstream_key", str)
FORWARDED = ("api-key", "authorization", "content-type")


async def forward(request: web.Request) -> web.StreamResponse:
    headers = {name: value for name in FORWARDED if (value := request.headers.get(name)) is not None}
    async with request.app[session_key].post(
        request.app[upstream_key] + request.path_qs.lstrip("/"), data=await request.read(), headers=headers
    ) as upstream:
        response = web.StreamResponse(status=upstream.status, headers={"Content-Type": upstream.content_type})
        await response.prepare(request)
        async for data in upstream.content.iter_any():
            await response.write(data)
        await response.write_eof()
        return response


async def session_context(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        app[session_key] = session
        yield


def create_app(upstream: str) -> web.Application:
    app = web.Application()
    app[upstream_key] = upstream.rstrip("/") + "/"
    app.cleanup_ctx.append(session_context)
    app.router.add_post("/{path:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="A byte-copy streaming proxy, for comparison.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    web.run_app(
        create_app(os.environ["AZURE_OPENAI_ENDPOINT"]),
        host=args.host,
        port=args.port,
        handler_cancellation=True,  # a client that leaves closes the upstream, as the relay does
        access_log=None,
        print=lambda _: print(f"chat server on http://{args.host}:{args.port}/ (byte-copy proxy)", flush=True),
    )


if __name__ == "__main__":
    main()
