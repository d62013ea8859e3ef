"""The page in its settings: simulator mode, mounted under a prefix, framed as /embed, on a phone."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from chat import Settings, create_app
from chat.simulator import Simulator

from .pages import MARKDOWN_ANSWER, PHONE, ChatPage, OpenChat, within

Server = Callable[..., Awaitable[TestServer]]


async def test_simulated_notice_and_answer(open_chat: OpenChat, aiohttp_server: Server) -> None:
    server = await aiohttp_server(create_app(Settings(simulator_token_delay=0, simulator_first_token_delay=0)))
    chat = await open_chat(str(server.make_url("/")))
    await expect(chat.page.get_by_role("note")).to_have_text("Simulated answers — no Azure OpenAI endpoint configured")
    await chat.send("Hello there")
    await chat.wait_done()
    body = chat.answer_body()
    await expect(body.locator("p").first).to_have_text("You asked: Hello there")
    await expect(body.locator("em").first).to_have_text("Hello there")
    await expect(body.locator("h3")).to_have_text("Things to try")
    await expect(body.locator(".code-block .code-language")).to_have_text("python")
    await expect(body.locator("table tbody tr")).to_have_count(2)


HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Intranet</title></head>
<body><h1>The host's own page</h1><iframe src="/assistant/embed" title="Chat" width="420" height="600"></iframe></body>
</html>"""


async def host_page(request: web.Request) -> web.Response:
    return web.Response(text=HOST_PAGE, content_type="text/html")


@pytest_asyncio.fixture(loop_scope="session")
async def host_url(aiohttp_server: Server, settings: Settings) -> str:
    """A host application with the chat mounted at /assistant/ and framed on its home page."""
    host = web.Application()
    host.router.add_get("/", host_page)
    host.add_subapp("/assistant/", create_app(settings))
    server = await aiohttp_server(host)
    return str(server.make_url("/"))


async def chat_once(chat: ChatPage, simulator: Simulator) -> None:
    simulator.script("Answered through the mounted app.")
    await chat.send("Where are you?")
    record = await within(simulator.next_request())
    await chat.wait_done()
    assert await chat.paragraphs() == ["Answered through the mounted app."]
    assert record.body["messages"][-1]["content"] == "Where are you?"


REQUESTED_PATHS = "performance.getEntriesByType('resource').map(entry => new URL(entry.name).pathname)"


async def test_mounted_under_a_prefix(open_chat: OpenChat, host_url: str, simulator: Simulator) -> None:
    chat = await open_chat(host_url + "assistant/")
    await chat_once(chat, simulator)
    assert "/assistant/api/chat" in await chat.page.evaluate(REQUESTED_PATHS)
    await chat.page.reload()
    await expect(chat.answers).to_have_count(1)


async def test_embed_page_chats_inside_a_frame(open_chat: OpenChat, host_url: str, simulator: Simulator) -> None:
    host = await open_chat(host_url, ready=False)
    chat = host.framed("iframe[title=Chat]")
    await expect(chat.scope.locator("body")).to_have_class("embedded")
    await expect(chat.scope.locator("#sidebar")).to_be_hidden()  # the list opens as a panel
    await chat_once(chat, simulator)
    frame = next(frame for frame in host.page.frames if frame.url.endswith("/assistant/embed"))
    assert "/assistant/api/chat" in await frame.evaluate(REQUESTED_PATHS)
    await chat.scope.get_by_role("button", name="Conversations").click()
    await expect(chat.scope.locator("#sidebar")).to_be_visible()
    await expect(chat.conversations.locator(".conversation-open")).to_have_text(["Where are you?"])


async def test_embed_panel_closes_on_a_click_beside_it_on_a_wide_frame(open_chat: OpenChat, chat_url: str) -> None:
    chat = await open_chat(chat_url + "embed", viewport={"width": 1000, "height": 700})
    page = chat.page
    sidebar = page.locator("#sidebar")
    await expect(sidebar).to_be_hidden()  # a panel at every width, not a column
    await page.get_by_role("button", name="Conversations").click()
    await expect(sidebar).to_be_visible()
    box = await sidebar.bounding_box()
    assert box is not None and box["x"] + box["width"] < 800
    await page.mouse.click(900, 350)  # on the dimmed chat beside the panel
    await expect(sidebar).to_be_hidden()
    await expect(page.get_by_role("button", name="Conversations")).to_have_attribute("aria-expanded", "false")


async def test_phone_can_send_and_read(open_chat: OpenChat, chat_url: str, simulator: Simulator) -> None:
    simulator.script(MARKDOWN_ANSWER)
    chat = await open_chat(chat_url, **PHONE)
    page = chat.page
    await expect(page.locator("#sidebar")).to_be_hidden()
    await chat.input.tap()
    await chat.input.fill("Explain the protocol on my phone")
    await chat.send_button.tap()
    await chat.wait_done()

    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    body = chat.answer_body()
    await expect(body.get_by_text("See the protocol (example.com) for the details.")).to_be_in_viewport()
    for wide in (".code-block", ".table-scroll"):
        box = await body.locator(wide).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, wide
    await expect(chat.send_button).to_be_in_viewport()
    await expect(chat.input).to_be_in_viewport()

    await page.get_by_role("button", name="Conversations").tap()
    await expect(page.locator("#sidebar")).to_be_visible()
    await expect(chat.conversations.locator(".conversation-open")).to_have_text(["Explain the protocol on my phone"])
    await page.keyboard.press("Escape")
    await expect(page.locator("#sidebar")).to_be_hidden()


async def distance_from_bottom(chat: ChatPage) -> float:
    distance: float = await chat.page.locator("#messages-scroller").evaluate(
        "node => node.scrollHeight - node.scrollTop - node.clientHeight"
    )
    return distance


async def test_follows_the_answer_unless_scrolled_up(open_chat: OpenChat, chat_url: str, simulator: Simulator) -> None:
    simulator.token_delay = 0.005  # about five seconds in all: the test stops it long before
    simulator.script("\n\n".join(f"Line {number}." for number in range(1, 500)))
    chat = await open_chat(chat_url)
    page = chat.page
    scroller = page.locator("#messages-scroller")
    await chat.send("Write many lines")
    record = await within(simulator.next_request())
    await expect(chat.answer_body()).to_contain_text("Line 40.")  # well past one screen
    assert await distance_from_bottom(chat) <= 48

    await scroller.hover()
    await page.mouse.wheel(0, -400)
    jump = page.get_by_role("button", name="Jump to latest")
    await expect(jump).to_be_visible()
    position = await scroller.evaluate("node => node.scrollTop")
    await expect(chat.answer_body()).to_contain_text("Line 80.")  # more text, and the reader stays put
    assert await scroller.evaluate("node => node.scrollTop") == position
    assert await distance_from_bottom(chat) > 48

    await jump.click()
    await expect(jump).to_be_hidden()
    await expect(chat.answer_body()).to_contain_text("Line 100.")
    assert await distance_from_bottom(chat) <= 48
    await chat.stop_button.click()
    await within(record.ended.wait())


async def test_deployment_picker(
    open_chat: OpenChat, aiohttp_server: Server, settings: Settings, simulator: Simulator
) -> None:
    server = await aiohttp_server(create_app(dataclasses.replace(settings, deployments=("gpt-4o", "gpt-4o-mini"))))
    chat = await open_chat(str(server.make_url("/")))
    picker = chat.page.get_by_label("Model")
    await expect(picker).to_have_value("gpt-4o")
    await picker.select_option("gpt-4o-mini")
    simulator.script("From the small one.")
    await chat.send("Which model?")
    record = await within(simulator.next_request())
    await chat.wait_done()
    assert (record.path, record.body["model"]) == ("/openai/v1/chat/completions", "gpt-4o-mini")
    assert await chat.paragraphs() == ["From the small one."]


async def test_no_picker_with_one_deployment(open_chat: OpenChat, chat_url: str) -> None:
    chat = await open_chat(chat_url)
    await expect(chat.page.locator("#deployment")).to_have_count(0)
