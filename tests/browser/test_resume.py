"""The page asks for resumable answers: a lost network, a reload, a closed tab (the server side:
tests/test_answers.py)."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from chat.simulator import Simulator

from .pages import ChatPage, OpenChat, within

ANSWER = " ".join(f"w{number}" for number in range(300))


async def test_offline_mid_answer_then_online_completes_it_once(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    simulator.token_delay = 0.01
    simulator.script(ANSWER)
    chat = await open_chat(chat_url)
    await chat.send("Count")
    await expect(chat.answer_body()).to_contain_text("w20 ")
    await chat.page.context.set_offline(True)
    await expect(chat.page.get_by_role("status").filter(has_text="Reconnecting…")).to_be_visible()
    await chat.page.context.set_offline(False)
    await chat.wait_done()
    assert (await chat.answer_body().text_content() or "").strip() == ANSWER
    await expect(chat.page.locator("#reconnect-notice")).to_be_hidden()
    assert len(simulator.requests) == 1


async def test_a_reload_mid_answer_continues_it(open_chat: OpenChat, chat_url: str, simulator: Simulator) -> None:
    simulator.token_delay = 0.01
    simulator.script(ANSWER)
    chat = await open_chat(chat_url)
    await chat.send("Count")
    await expect(chat.answer_body()).to_contain_text("w20 ")
    await chat.page.reload()
    await chat.wait_done()
    assert (await chat.answer_body().text_content() or "").strip() == ANSWER
    assert len(simulator.requests) == 1
    await chat.page.reload()  # ended: kept as it is, not followed again
    await expect(chat.last_answer).to_have_attribute("data-status", "done")


async def test_closing_the_page_closes_the_upstream_through_the_beacon(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    simulator.token_delay = 0.05  # 15 s of answer: far longer than the beacon's grace
    simulator.script(ANSWER)
    chat = await open_chat(chat_url)
    await chat.send("Count")
    record = await within(simulator.next_request())
    await expect(chat.answer_body()).to_contain_text("w2 ")
    loop = asyncio.get_running_loop()
    closed = loop.time()
    await chat.page.close(run_before_unload=True)
    await within(record.ended.wait(), 8)
    # The resume window is 30 s: only the beacon's `leaving` ends it this soon.
    assert record.hung_up and not record.completed and loop.time() - closed < 6


async def test_a_second_tab_on_the_conversation_follows_the_answer_live(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    simulator.script("First.")
    await chat.send("Hello")
    await chat.wait_done()
    followed: list[str] = []

    async def another_tab() -> ChatPage:
        """The same browser's next tab, open on that conversation (the latest)."""
        tab = ChatPage(await chat.page.context.new_page(), chat.problems)
        tab.page.on("console", chat.problems.on_console)
        tab.page.on("pageerror", chat.problems.on_page_error)
        tab.page.on("request", lambda request: followed.append(request.url) if "/api/answers/" in request.url else None)
        await tab.page.goto(chat_url)
        return tab

    other = await another_tab()
    await expect(other.answer_body()).to_have_text("First.")
    simulator.forget()
    simulator.token_delay = 0.01
    simulator.script(ANSWER)
    await chat.send("Count")
    # Live in the other tab, read from the server (not a copy of what the first saved, which it
    # would show as cut off): part of it while the first is still being written.
    await expect(other.answer_body(other.answers.nth(1))).to_contain_text("w20 ")
    await expect(other.last_answer).to_have_attribute("data-status", "streaming")
    await expect(chat.last_answer).to_have_attribute("data-status", "streaming")
    # A tab opened while the answer is being written finds it in storage and follows it too.
    third = await another_tab()
    await expect(third.last_answer).to_have_attribute("data-status", "streaming")
    for tab in (other, chat, third):
        await tab.wait_done()
    for page in (chat, other, third):
        assert (await page.answer_body().text_content() or "").strip() == ANSWER
    await expect(other.page.locator("#reconnect-notice")).to_have_count(0)
    assert len(simulator.requests) == 1
    assert len(followed) == 2, followed  # one GET /api/answers/{id} for each of the other tabs
