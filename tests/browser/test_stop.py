"""Stop (the button or Esc) ends the answer in the page and closes the upstream request at once."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from chat.simulator import Fault, Simulator

from .pages import OpenChat, press_stop, within

LONG_ANSWER = " ".join(f"word{number}" for number in range(3000))


@pytest.mark.parametrize("how", ["button", "escape"])
async def test_stop_while_streaming_keeps_the_partial_answer(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, how: str
) -> None:
    simulator.token_delay = 0.01
    simulator.script(LONG_ANSWER)
    chat = await open_chat(chat_url)
    await chat.send("Count for me")
    record = await within(simulator.next_request())
    await expect(chat.answer_body()).to_contain_text("word20 ")  # streaming, visibly
    await press_stop(chat, how)

    await within(record.ended.wait(), 2)
    assert record.hung_up and not record.completed
    assert record.content_chunks_sent < 3000
    answer = chat.last_answer
    await expect(answer).to_have_attribute("data-status", "stopped")
    await expect(answer.locator(".status-stopped")).to_have_text("Stopped")
    await expect(answer.get_by_role("button", name="Retry")).to_have_count(0)
    await expect(chat.send_button).to_be_visible()
    await expect(chat.stop_button).to_be_hidden()
    await expect(chat.input).to_be_focused()
    partial = await chat.answer_body().text_content()
    assert partial and len(partial) > len("word20 ")
    assert LONG_ANSWER.startswith(partial.strip())

    await chat.page.reload()  # what the person saw is what is kept
    await expect(chat.last_answer).to_have_attribute("data-status", "stopped")
    assert await chat.answer_body().text_content() == partial


@pytest.mark.parametrize("how", ["button", "escape"])
async def test_stop_during_the_silent_wait(open_chat: OpenChat, chat_url: str, simulator: Simulator, how: str) -> None:
    simulator.fail_next(Fault.STALL, after_chunks=0)  # answers with headers, then no token
    chat = await open_chat(chat_url)
    await chat.send("Think hard")
    record = await within(simulator.next_request())
    await within(record.streaming.wait())
    await expect(chat.last_answer.get_by_role("status", name="Thinking")).to_be_visible()
    await press_stop(chat, how)

    await within(record.ended.wait(), 2)
    assert record.hung_up and not record.completed
    assert record.content_chunks_sent == 0
    await expect(chat.last_answer).to_have_attribute("data-status", "stopped")
    await expect(chat.last_answer.locator(".status-stopped")).to_have_text("Stopped")
    await expect(chat.last_answer.locator(".typing-indicator")).to_have_count(0)
    await expect(chat.answer_body()).to_have_text("")
    await expect(chat.send_button).to_be_visible()

    await chat.send("Never mind, answer this")  # the page is ready for the next question
    await chat.wait_done()
    # The stop said nothing, so it does not stay between the two questions.
    await expect(chat.messages).to_have_count(3)
    await expect(chat.answers).to_have_count(1)
