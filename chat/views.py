"""The page and the health check."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from .keys import open_streams_key, settings_key, shared_state_key, upstream_key


@aiohttp_jinja2.template("index.html")
async def index(request: web.Request) -> dict[str, Any]:
    return page_context(request, embedded=False)


@aiohttp_jinja2.template("index.html")
async def embed(request: web.Request) -> dict[str, Any]:
    """The compact page for an `<iframe>`; who may frame it is CHAT_FRAME_ANCESTORS."""
    return page_context(request, embedded=True)


def page_context(request: web.Request, *, embedded: bool) -> dict[str, Any]:
    settings = request.app[settings_key]
    return {
        "embedded": embedded,
        "simulated": settings.simulated,
        "deployments": settings.deployments,
        "max_messages": settings.max_messages,
        "max_message_chars": settings.max_message_chars,
        "max_total_chars": settings.max_total_chars,
    }


async def healthz(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "status": "ok",
            "mode": request.app[settings_key].backend,
            "open_streams": len(request.app[open_streams_key]),
            # Reported, never a failure: a load balancer must not take every process out with Redis.
            "redis": await request.app[shared_state_key].check(),
            "endpoints": upstream.pool.states() if (upstream := request.app.get(upstream_key)) else [],
        }
    )
