"""The page shows the person's use today under the composer, brought up to date after each answer."""

from __future__ import annotations

import aiohttp
from playwright.async_api import expect
from pytest_aiohttp import AiohttpServer

from chat import Settings, create_app
from chat.accounting.outcome import observers_key
from chat.simulator import Simulator

from ..outcomes import FinishedOutcomes
from .pages import OpenChat


async def test_todays_use_appears_and_grows_with_each_answer(
    open_chat: OpenChat, aiohttp_server: AiohttpServer, settings: Settings, simulator: Simulator
) -> None:
    app = create_app(settings)
    outcomes = FinishedOutcomes()
    app[observers_key].append(outcomes)
    server = await aiohttp_server(app)
    url = str(server.make_url("/"))
    chat = await open_chat(url)
    usage = chat.page.locator("#usage-today")
    await expect(usage).to_be_hidden()  # nothing used yet: nothing said

    async with aiohttp.ClientSession() as session:
        for question in ("first", "second"):
            simulator.script("word " * 600)
            await chat.send(question)
            await chat.wait_done()
            await outcomes.next()  # counted by the server
            async with session.get(f"{url}api/usage") as response:
                total = (await response.json())["today"]["total_tokens"]
            await expect(usage).to_have_text(f"Today: {total:,} tokens")
    assert total > 1000  # written with a thousands separator
    await expect(usage).to_be_visible()
