"""Pages of other origins for the embedding tests: each a tiny aiohttp app on its own loopback port."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestServer

Server = Callable[..., Awaitable[TestServer]]
Pages = dict[str, tuple[str, str]]  # path: (content type, text)


async def serve_pages(aiohttp_server: Server, pages: Pages, headers: dict[str, str] | None = None) -> str:
    """Serve `pages`, read at each request (so a page may name an origin started after this one);
    returns this server's origin. `headers` go on every response."""

    async def page(request: web.Request) -> web.Response:
        content_type, text = pages[request.path]
        return web.Response(text=text, content_type=content_type, headers=headers)

    app = web.Application()
    for path in pages:
        app.router.add_get(path, page)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")
