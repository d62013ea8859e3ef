from __future__ import annotations

from pathlib import Path

from aiohttp import web

from chat.accounting.metrics_view import get_metrics
from chat.accounting.usage_view import get_usage
from chat.answers.views import get_answer, stop_answer
from chat.config.settings import settings_key
from chat.conversations.views import setup_conversation_routes
from chat.edge.pages import embed, healthz, index
from chat.edge.static_files import load_static_files, static_file, static_files_key
from chat.relay.handler import post_chat
from chat.sharing.views import setup_share_routes

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def find_web_dir() -> Path:
    """The page's templates and static files: `chat/web` once installed (setup.cfg puts them there),
    else the checkout's `web/` beside `chat/` (running from the checkout, or installed editable)."""
    installed = PACKAGE_DIR / "web"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "web"


WEB_DIR = find_web_dir()


async def favicon(request: web.Request) -> web.Response:
    # For browsers that ask without reading the page.
    return request.app[static_files_key].response(request, "favicon.svg")


async def widget(request: web.Request) -> web.Response:
    return request.app[static_files_key].response(request, "widget.js")  # at the root: `embed` is beside it


def setup_routes(app: web.Application) -> None:
    app[static_files_key] = load_static_files(WEB_DIR / "static")
    app.router.add_get("/", index, name="index")
    app.router.add_get("/embed", embed, name="embed")
    app.router.add_post("/api/chat", post_chat, name="chat")
    app.router.add_get("/api/answers/{id}", get_answer, name="answer")
    app.router.add_post("/api/answers/{id}/stop", stop_answer, name="stop_answer")
    setup_conversation_routes(app)  # /api/conversations
    setup_share_routes(app)  # /api/conversations/{id}/share, /api/shares, /s/{token}
    app.router.add_get("/api/usage", get_usage, name="usage")
    if app[settings_key].metrics:
        app.router.add_get("/metrics", get_metrics, name="metrics")
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/favicon.ico", favicon, name="favicon")
    app.router.add_get("/widget.js", widget, name="widget")  # for other sites' pages: headers.py
    app.router.add_get("/static/{path:.+}", static_file, name="static")  # from memory: static_files.py
