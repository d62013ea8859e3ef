"""Small things a person notices: the tab's icon, the simulator's grammar, a rate limit's wait
counted down in its message too, where the keyboard is after Undo."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from chat import Settings, create_app
from chat.simulator import Fault, Simulator

from .pages import OpenChat, ask, within

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


async def test_the_rate_limit_message_counts_down_with_its_button(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    simulator.fail_next(Fault.RATE_LIMITED, retry_after_ms=3000)
    chat = await open_chat(chat_url)
    chat.expect_http_error(429)
    await chat.send("Quick question")
    await within(simulator.next_request())
    status = chat.last_answer.locator(".status-error")
    retry = chat.last_answer.locator(".retry-button")
    for seconds, text in ((3, "3 seconds"), (2, "2 seconds"), (1, "1 second")):
        await expect(status).to_have_text(f"The model service is busy. Try again in {text}.")
        await expect(retry).to_have_text(f"Retry in {seconds} s")
    await expect(retry).to_have_text("Retry")
    await expect(status).to_have_text("The model service is busy.")  # the wait is over: no stale number
    await expect(chat.last_answer.get_by_role("alert")).to_have_count(0)  # read out once, not every second


async def test_undo_of_the_open_conversation_opens_it_again_with_the_keyboard_on_it(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    page = chat.page
    await ask(chat, simulator, "Older one", "a")
    await page.get_by_role("button", name="New chat").click()
    await ask(chat, simulator, "Open one", "b")
    await page.get_by_role("button", name="Delete conversation: Open one").click()
    await expect(chat.messages.locator(".message-body")).to_have_text(["Older one", "a"])
    undo = page.get_by_role("button", name="Undo")
    await expect(undo).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(chat.messages.locator(".message-body")).to_have_text(["Open one", "b"])
    await expect(page.get_by_role("button", name="Open one", exact=True)).to_be_focused()
    await page.keyboard.press("Tab")  # the keyboard goes on from there
    await expect(page.get_by_role("button", name="Delete conversation: Open one")).to_be_focused()
