"""Small things a person notices: the tab's icon, the simulator's grammar."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from chat import Settings, create_app

from .pages import OpenChat

Server = Callable[..., Awaitable[TestServer]]


async def test_favicon_is_linked_and_served_at_the_old_address(open_chat: OpenChat, chat_url: str) -> None:
    chat = await open_chat(chat_url)
    icon = chat.page.locator("link[rel=icon]")
    await expect(icon).to_have_attribute("type", "image/svg+xml")
    linked = await chat.page.request.get(await icon.evaluate("link => link.href"))
    old = await chat.page.request.get(chat_url + "favicon.ico")
    for response in (linked, old):
        assert response.status == 200
        assert response.headers["content-type"] == "image/svg+xml"
        assert (await response.body()).startswith(b"<svg")


async def test_simulated_answer_counts_one_word_as_one_word(open_chat: OpenChat, aiohttp_server: Server) -> None:
    server = await aiohttp_server(create_app(Settings(simulator_token_delay=0, simulator_first_token_delay=0)))
    chat = await open_chat(str(server.make_url("/")))
    await chat.send("Hello")
    await chat.wait_done()
    await expect(chat.answer_body()).to_contain_text("It has 1 word and 5 characters")
    await chat.send("Hello again")
    await chat.wait_done()
    await expect(chat.answer_body()).to_contain_text("It has 2 words and 11 characters")
