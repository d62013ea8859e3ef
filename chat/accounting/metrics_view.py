"""`GET /metrics`: the Prometheus scrape, behind the same sign-in as the rest (a scraper sends a
bearer token from CHAT_API_TOKENS)."""

from __future__ import annotations

from aiohttp import web

from chat.accounting.metrics import metrics_key


async def get_metrics(request: web.Request) -> web.Response:
    body, content_type = request.app[metrics_key].exposition(request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})
