"""Mounted under a prefix in a host application, and framed as `/embed`."""

from __future__ import annotations

import re

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from chat import Settings, create_app
from chat.simulator import Simulator

from .sse_client import chat_body, read_events, text_of
from .typedefs import ClientFactory


async def host_home(request: web.Request) -> web.Response:
    return web.Response(text="the host's own page")


async def test_mounted_under_a_prefix(aiohttp_client: AiohttpClient, settings: Settings, simulator: Simulator) -> None:
    host = web.Application()
    host.router.add_get("/", host_home)
    host.add_subapp("/assistant/", create_app(settings))
    client = await aiohttp_client(host)

    page = await client.get("/assistant/")
    assert page.status == 200
    html = await page.text()
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert references and all(not ref.startswith("/") for ref in references if not ref.startswith("#"))
    for ref in references:
        if ref.startswith("static/"):
            assert (await client.get(f"/assistant/{ref}")).status == 200, ref

    events, _ = await read_events(await client.post("/assistant/api/chat", json=chat_body("mounted?")))
    assert text_of(events).startswith("You asked: *mounted?*")
    assert (await (await client.get("/assistant/healthz")).json())["mode"] == "azure"
    assert await (await client.get("/")).text() == "the host's own page"


async def test_embed_page_is_compact_and_frameable_where_allowed(make_client: ClientFactory) -> None:
    client = await make_client(frame_ancestors="https://intranet.example")
    response = await client.get("/embed")
    assert response.status == 200
    assert '<body class="embedded"' in await response.text()
    assert response.headers["Content-Security-Policy"].endswith("frame-ancestors https://intranet.example")
    full = await client.get("/")
    assert '<body class=""' in await full.text()
