"""/embed framed by a host page of another origin takes neither focus nor the host's scroll position
on load; once the person clicks into the chat, it is theirs to type in."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from chat import Settings, create_app
from chat.simulator import Simulator

from .pages import OpenChat, within

Server = Callable[..., Awaitable[TestServer]]

# The chat sits below the fold, as on the intranet page where it scrolled the host 1,285 px.
HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Intranet</title>
<style>.above-the-fold {{ height: 1400px; }}</style></head>
<body><h1>The host's own page</h1>
<label>Notes <input id="notes" autofocus></label>
<div class="above-the-fold"></div>
<iframe src="{chat}embed" title="Chat" width="420" height="600"></iframe>
</body></html>"""


async def test_framed_chat_leaves_focus_and_scroll_to_the_host(
    open_chat: OpenChat, aiohttp_server: Server, settings: Settings, simulator: Simulator
) -> None:
    chat_address: dict[str, str] = {}

    async def host_page(request: web.Request) -> web.Response:
        return web.Response(text=HOST_PAGE.format(chat=chat_address["url"]), content_type="text/html")

    host = web.Application()
    host.router.add_get("/", host_page)
    host_server = await aiohttp_server(host)
    host_origin = str(host_server.make_url("")).rstrip("/")
    chat_server = await aiohttp_server(
        create_app(dataclasses.replace(settings, frame_ancestors=f"'self' {host_origin}"))
    )
    chat_address["url"] = str(chat_server.make_url("/"))
    assert host_origin != chat_address["url"].rstrip("/")  # another origin: another port

    page = await open_chat(host_origin + "/", ready=False, viewport={"width": 1000, "height": 700})
    chat = page.framed("iframe[title=Chat]")
    frame = next(frame for frame in page.page.frames if frame.url.endswith("/embed"))
    await frame.wait_for_function("document.readyState === 'complete'")  # the page's modules have run
    await expect(chat.scope.locator("body")).to_have_class("embedded")

    host_page_state = "({scrolled: window.scrollY, focused: document.activeElement.id})"
    assert await page.page.evaluate(host_page_state) == {"scrolled": 0, "focused": "notes"}
    assert not await frame.evaluate("document.hasFocus()")
    await page.page.keyboard.type("typed on the host")
    await expect(page.page.locator("#notes")).to_have_value("typed on the host")
    await expect(chat.input).to_have_value("")
    assert await page.page.evaluate("window.scrollY") == 0

    # A click into the chat makes it the person's: the box takes the typing, and the chat answers.
    await chat.input.click()
    await expect(chat.input).to_be_focused()
    simulator.script("Answered in the frame.")
    await page.page.keyboard.type("Hello from the frame")
    await page.page.keyboard.press("Enter")
    await within(simulator.next_request())
    await chat.wait_done()
    assert await chat.paragraphs() == ["Answered in the frame."]
    await expect(page.page.locator("#notes")).to_have_value("typed on the host")
