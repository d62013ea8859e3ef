"""Security headers on every response: the page runs under a strict Content-Security-Policy."""

from __future__ import annotations

from aiohttp import web

from .keys import settings_key


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    frame_ancestors = request.app[settings_key].frame_ancestors
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {frame_ancestors}",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
