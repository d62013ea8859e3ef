"""A share link opened in Chromium by another person: the snapshot drawn with the chat's markdown
under its strict CSP (open_chat fails on any violation or console error), nothing of the
conversation's markup run, and "Continue this chat" making it the reader's own conversation, which
the next question carries on."""

from __future__ import annotations

import dataclasses

import aiohttp
from playwright.async_api import expect
from pytest_aiohttp import AiohttpServer

from chat import Settings, create_app
from chat.simulator import Simulator

from ..test_conversations import PASSWORD, basic
from .pages import OpenChat, ask

ANSWER = "**Boil** water first.\n\n```python\nprint('salt')\n```\n\n<img src=x onerror=\"window.pwned=1\">"


async def test_a_link_opened_by_another_person_and_continued(
    open_chat: OpenChat, aiohttp_server: AiohttpServer, settings: Settings, simulator: Simulator
) -> None:
    server = await aiohttp_server(
        create_app(dataclasses.replace(settings, basic_auth=(("ada", PASSWORD), ("bob", PASSWORD))))
    )
    async with aiohttp.ClientSession(headers=basic("ada")) as session:
        messages = [{"role": "user", "content": "How do I make soup?"}, {"role": "assistant", "content": ANSWER}]
        made = await session.put(
            server.make_url("/api/conversations/soup"), json={"title": "Soup", "messages": messages}
        )
        assert made.status == 201
        shared = await session.post(server.make_url("/api/conversations/soup/share"))
        url = (await shared.json())["url"]

    chat = await open_chat(
        str(server.make_url(url)), ready=False, http_credentials={"username": "bob", "password": PASSWORD}
    )
    page = chat.page
    await expect(page.locator("h1")).to_have_text("Soup")
    await expect(chat.messages).to_have_count(2)
    await expect(chat.messages.first.locator(".message-body")).to_have_text("How do I make soup?")
    answer = chat.answers.first
    await expect(answer.locator("strong")).to_have_text("Boil")
    await expect(answer.locator(".code-block .code-language")).to_have_text("python")
    await expect(answer.locator("img")).to_have_count(0)  # images are links, never loaded
    assert await page.evaluate("window.pwned") is None

    await page.get_by_role("button", name="Continue this chat").click()
    await expect(page.locator("#composer-input")).to_be_focused()  # the chat, on Bob's copy
    await expect(chat.conversations.first).to_contain_text("Soup")
    await expect(chat.messages).to_have_count(2)
    record = await ask(chat, simulator, "And then?", "Add the vegetables.")
    assert [message["content"] for message in record.body["messages"]][-3:] == [
        "How do I make soup?",
        ANSWER,
        "And then?",
    ]
