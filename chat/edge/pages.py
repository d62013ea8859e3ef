"""The page and the health check."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from chat.access.client_access import client_access_key
from chat.access.metrics_clients import may_read_metrics
from chat.config.presets import Preset
from chat.config.settings import settings_key
from chat.edge.static_files import static_files_key
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.state.open_streams import open_streams_key
from chat.state.shared_state import shared_state_key
from chat.upstream.service import upstream_key


async def index(request: web.Request) -> web.Response:
    return chat_page(request, embedded=False)


async def embed(request: web.Request) -> web.Response:
    """The compact page for an `<iframe>`; who may frame it is CHAT_FRAME_ANCESTORS."""
    return chat_page(request, embedded=True)


def chat_page(request: web.Request, *, embedded: bool) -> web.Response:
    """The page in its preset (`?preset=NAME`, else the app's default), or a page saying why not."""
    access = request[client_access_key]
    try:
        preset = access.preset(request.query.get("preset"))
    except ChatError as error:
        status = 404 if error.kind is catalogue.UNKNOWN_PRESET.kind else error.status
        return refusal_page(request, status, "No such chat" if status == 404 else "Not open to you", error.message)
    deployments = access.deployments(preset, request.app[settings_key])
    if not deployments:
        return refusal_page(request, 403, "Not open to you", catalogue.NO_DEPLOYMENT_OPEN.template)
    context = page_context(request, embedded=embedded, preset=preset, deployments=deployments)
    return page_response(aiohttp_jinja2.render_template("index.html", request, context))


def refusal_page(request: web.Request, status: int, title: str, message: str, *, root: str = "") -> web.Response:
    """`root`: the way from the page's URL to the app's (`../` for one a level down), for its static files."""
    context = {"title": title, "message": message, "static": request.app[static_files_key], "root": root}
    return page_response(aiohttp_jinja2.render_template("refusal.html", request, context, status=status))


def page_response(response: web.Response) -> web.Response:
    """A page names the static files' current versions: checked again at each load, sent compressed."""
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Vary"] = "Accept-Encoding"
    response.enable_compression()
    return response


def page_context(
    request: web.Request, *, embedded: bool, preset: Preset | None, deployments: tuple[str, ...]
) -> dict[str, Any]:
    settings = request.app[settings_key]
    return {
        "embedded": embedded,
        "static": request.app[static_files_key],
        "preset": preset,
        "simulated": settings.simulated,
        "deployments": deployments,
        "max_messages": settings.max_messages,
        "max_message_chars": settings.max_message_chars,
        "max_total_chars": settings.max_total_chars,
        "host_origins": (*settings.frame_ancestors.split(), *settings.allowed_origins),  # host/host-bridge.js
    }


async def healthz(request: web.Request) -> web.Response:
    """`{"status": "ok"}` for anyone (a load balancer); the details for CHAT_METRICS_CLIENTS."""
    access = request.get(client_access_key)
    if not may_read_metrics(request, request.app[settings_key], access.client if access else None):
        return web.json_response({"status": "ok"})
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
