from __future__ import annotations

from pathlib import Path

from aiohttp import web

from chat.accounting.metrics_view import get_metrics
from chat.accounting.usage_view import get_usage
from chat.config.settings import settings_key
from chat.edge.pages import embed, healthz, index
from chat.relay.handler import post_chat

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def find_web_dir() -> Path:
    """The page's templates and static files: `chat/web` once installed (setup.cfg puts them there),
    else the checkout's `web/` beside `chat/` (running from the checkout, or installed editable)."""
    installed = PACKAGE_DIR / "web"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "web"


WEB_DIR = find_web_dir()


async def favicon(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "static" / "favicon.svg")  # for browsers that ask without reading the page


async def widget(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "static" / "widget.js")  # at the root: `embed` is beside it


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", index, name="index")
    app.router.add_get("/embed", embed, name="embed")
    app.router.add_post("/api/chat", post_chat, name="chat")
    app.router.add_get("/api/usage", get_usage, name="usage")
    if app[settings_key].metrics:
        app.router.add_get("/metrics", get_metrics, name="metrics")
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/favicon.ico", favicon, name="favicon")
    app.router.add_get("/widget.js", widget, name="widget")  # for other sites' pages: headers.py
    app.router.add_static("/static/", WEB_DIR / "static", name="static", append_version=False)
