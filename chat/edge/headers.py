"""Security headers on every response: the page runs under a strict Content-Security-Policy."""

from __future__ import annotations

from aiohttp import web

from chat.config.settings import settings_key


def security_headers(frame_ancestors: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            f"frame-ancestors {frame_ancestors}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Resource-Policy": "same-origin",
    }


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.match_info.route.name == "widget":
        # widget.js runs in other sites' pages (docs/embedding.md): they may load it.
        response.headers.setdefault("Cross-Origin-Resource-Policy", "cross-origin")
    for name, value in security_headers(request.app[settings_key].frame_ancestors).items():
        response.headers.setdefault(name, value)
