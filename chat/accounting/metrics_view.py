"""`GET /metrics`: the Prometheus scrape, for the clients of CHAT_METRICS_CLIENTS only (a scraper
sends a named bearer token of CHAT_API_TOKENS, or scrapes from a network the setting names)."""

from __future__ import annotations

from aiohttp import web

from chat.access.client_access import client_access_key
from chat.access.metrics_clients import may_read_metrics
from chat.accounting.metrics import metrics_key
from chat.config.settings import settings_key
from chat.errors import catalogue, error_response
from chat.errors.chat_error import ChatError


async def get_metrics(request: web.Request) -> web.Response:
    if not may_read_metrics(request, request.app[settings_key], request[client_access_key].client):
        return error_response(ChatError(catalogue.FORBIDDEN_METRICS))
    body, content_type = request.app[metrics_key].exposition(request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})
