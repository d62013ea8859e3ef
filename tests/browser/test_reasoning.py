"""Reasoning models in the page: the silent thinking, the reasoning summary, and a late content filter."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, expect

from chat.simulator import Fault, Simulator

from .pages import SECONDS, ChatPage, OpenChat, press_stop, within

ANSWER = "Take the train: it is quicker door to door."
FLAGGED = " ".join(f"flagged{number}" for number in range(120))


def thinking(chat: ChatPage) -> Locator:
    return chat.last_answer.get_by_role("status", name="Thinking")


async def test_thinking_shows_the_seconds_until_the_answer(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    simulator.profile = "reasoning"
    simulator.thinking_time = 3.0
    simulator.script(ANSWER)
    chat = await open_chat(chat_url)
    await chat.send("Train or plane?")
    await within(simulator.next_request())

    indicator = thinking(chat)
    await expect(indicator.locator(".thinking-label")).to_have_text("Thinking…")
    elapsed = indicator.locator(".thinking-elapsed")
    await expect(elapsed).to_have_attribute("aria-hidden", "true")  # screen readers hear "Thinking" once
    await expect(elapsed).to_have_text(SECONDS)
    seconds = int((await elapsed.inner_text()).split()[0])
    await expect(elapsed).to_have_text(re.compile(rf"^({seconds + 1}|{seconds + 2}) s$"))  # ticking
    assert await chat.answer_body().locator("p").count() == 0  # nothing of the answer yet

    await chat.wait_done()
    await expect(chat.last_answer.locator(".typing-indicator")).to_have_count(0)
    await expect(chat.answer_body()).to_have_text(ANSWER)
    await expect(chat.last_answer.locator(".status-usage")).to_contain_text(" reasoning)")


@pytest.mark.parametrize("how", ["button", "escape"])
async def test_stop_while_thinking_closes_the_upstream(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, how: str
) -> None:
    simulator.profile = "reasoning"
    simulator.thinking_time = 60.0
    chat = await open_chat(chat_url)
    await chat.send("Think about it for a long time")
    record = await within(simulator.next_request())
    await expect(thinking(chat).locator(".thinking-elapsed")).to_have_text(SECONDS)
    await press_stop(chat, how)

    await within(record.ended.wait())
    assert record.hung_up and not record.completed
    assert record.content_chunks_sent == 0
    await expect(chat.last_answer).to_have_attribute("data-status", "stopped")
    await expect(chat.last_answer.locator(".typing-indicator")).to_have_count(0)
    await expect(chat.send_button).to_be_visible()


async def test_reasoning_open_while_thinking_then_closed_and_kept(
    open_chat: OpenChat, responses_chat_url: str, simulator: Simulator
) -> None:
    simulator.profile = "responses"
    simulator.thinking_time = 2.0  # the summary streams over this time, before the answer
    simulator.token_delay = 0.1
    simulator.script(ANSWER)
    chat = await open_chat(responses_chat_url)
    await chat.send("Train or plane?")
    await within(simulator.next_request())

    reasoning = chat.last_answer.locator("details.message-reasoning")
    await expect(reasoning.locator("summary")).to_have_text("Thinking")
    await expect(reasoning.locator("strong").first).to_have_text("Reading the question")  # markdown, rendered
    await expect(reasoning).to_have_attribute("open", "")
    await expect(thinking(chat)).to_be_visible()  # still no answer
    assert await chat.answer_body().locator("p").count() == 0

    await expect(chat.answer_body()).to_contain_text("Take the")
    await expect(reasoning).not_to_have_attribute("open", "")  # closed once the answer began
    await expect(thinking(chat)).to_have_count(0)
    await expect(chat.last_answer).to_have_attribute("data-status", "streaming")
    await chat.wait_done()
    await expect(chat.answer_body()).to_have_text(ANSWER)
    await expect(reasoning).not_to_have_attribute("open", "")
    await expect(reasoning.locator(".reasoning-body")).to_be_hidden()
    await expect(chat.last_answer.locator(".status-usage")).to_contain_text(" reasoning)")

    await reasoning.locator("summary").click()  # the reader can open it again
    await expect(reasoning.locator("strong").last).to_have_text("Planning the answer")

    await chat.page.reload()  # kept with the answer, closed
    reasoning = chat.last_answer.locator("details.message-reasoning")
    await expect(reasoning).not_to_have_attribute("open", "")
    await expect(reasoning.locator("strong")).to_have_text(["Reading the question", "Planning the answer"])
    await expect(chat.answer_body()).to_have_text(ANSWER)

    simulator.token_delay = simulator.thinking_time = 0
    simulator.script("The same way.")
    await chat.send("And back?")  # the reasoning is not sent back
    record = await within(simulator.next_request())
    await chat.wait_done()
    assert "Reading the question" not in str(record.body)
    assert ANSWER in str(record.body)


async def test_text_flagged_after_it_was_shown_is_withdrawn(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    simulator.profile = "async-filter"
    simulator.token_delay = 0.008
    simulator.script(FLAGGED)
    simulator.fail_next(Fault.CONTENT_FILTER_FINISH, after_chunks=3)
    chat = await open_chat(chat_url)
    await chat.send("Say something risky")
    await within(simulator.next_request())
    await expect(chat.answer_body()).to_contain_text("flagged10 ")  # shown while it streams

    await chat.wait_done()
    notice = "This answer was withheld by the content filter."
    await expect(chat.answer_body()).to_have_text(notice)
    stored = await chat.page.evaluate("() => JSON.stringify(localStorage)")
    assert "flagged10" not in stored

    await chat.page.reload()
    await expect(chat.answer_body()).to_have_text(notice)
    simulator.script(ANSWER)
    await chat.send("Something else, then")
    record = await within(simulator.next_request())
    await chat.wait_done()
    assert "flagged10" not in str(record.body)
    assert [message["role"] for message in record.body["messages"]][-2:] == ["user", "user"]
