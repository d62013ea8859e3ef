"""The page asks for resumable answers: a lost network, a reload, a closed tab (the server side:
tests/test_answers.py)."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from chat.simulator import Simulator

from .pages import OpenChat, within

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
