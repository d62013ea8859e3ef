"""Upstream failures show a clear message, and Retry replaces the failed turn with a full answer."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from chat.simulator import Fault, Simulator

from .pages import ChatPage, OpenChat, within

ANSWER = "The second attempt worked and this answer is complete."
RETRIED_ANSWER = "Retried from the start, this time to the end."


async def retry_and_finish(chat: ChatPage, simulator: Simulator, text: str) -> None:
    first = simulator.requests[-1]
    retry = chat.last_answer.get_by_role("button", name="Retry")
    await expect(retry).to_be_enabled()
    await retry.click()
    second = await within(simulator.next_request())
    assert second.body["messages"] == first.body["messages"]  # the failed turn is not sent
    await chat.wait_done()
    await expect(chat.messages).to_have_count(2)  # the question and one answer: the failed turn was replaced
    await expect(chat.answers).to_have_count(1)
    assert await chat.paragraphs() == [text]
    await expect(chat.last_answer.locator(".status-error")).to_have_count(0)
    await expect(chat.last_answer.get_by_role("button", name="Retry")).to_have_count(0)


async def test_error_before_the_stream_then_retry(open_chat: OpenChat, chat_url: str, simulator: Simulator) -> None:
    simulator.fail_next(Fault.SERVER_ERROR)  # 500 upstream, 502 to the page
    simulator.script(ANSWER)  # kept for the next call: a failed call reads no answer
    chat = await open_chat(chat_url)
    chat.expect_http_error(502)
    await chat.send("Are you there?")
    await within(simulator.next_request())

    answer = chat.last_answer
    await expect(answer).to_have_attribute("data-status", "error")
    await expect(answer.get_by_role("alert")).to_have_text("The model service had a problem. Try again in a moment.")
    await expect(chat.send_button).to_be_visible()
    await retry_and_finish(chat, simulator, ANSWER)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.DROP, "The connection to the model service was lost. Try again."),
        (Fault.ERROR_EVENT, "The model service stopped with an error. Try again."),
    ],
    ids=["dropped", "error-event"],
)
async def test_error_mid_stream_keeps_the_partial_text_then_retry(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, fault: Fault, message: str
) -> None:
    simulator.script("one two three four five six seven eight nine ten")
    simulator.fail_next(fault, after_chunks=5)
    simulator.script(RETRIED_ANSWER)
    chat = await open_chat(chat_url)
    await chat.send("Count to ten")
    record = await within(simulator.next_request())
    await within(record.ended.wait())

    answer = chat.last_answer
    await expect(answer).to_have_attribute("data-status", "error")
    await expect(answer.get_by_role("alert")).to_contain_text(message)
    assert await chat.paragraphs() == ["one two three four five"]
    await retry_and_finish(chat, simulator, RETRIED_ANSWER)


async def test_rate_limit_counts_down_before_retry(open_chat: OpenChat, chat_url: str, simulator: Simulator) -> None:
    simulator.fail_next(Fault.RATE_LIMITED, retry_after_ms=2000)
    simulator.script(ANSWER)
    chat = await open_chat(chat_url)
    chat.expect_http_error(429)
    await chat.send("Quick question")
    await within(simulator.next_request())

    answer = chat.last_answer
    await expect(answer.get_by_role("alert")).to_have_text("The model service is busy. Try again in 2 seconds.")
    retry = answer.locator(".retry-button")
    await expect(retry).to_be_disabled()
    await expect(retry).to_have_text("Retry in 2 s")
    await expect(retry).to_have_text("Retry in 1 s")
    await expect(retry).to_be_enabled(timeout=4000)
    await expect(retry).to_have_text("Retry")
    assert len(simulator.requests) == 1  # nothing was sent while Retry waited
    await retry_and_finish(chat, simulator, ANSWER)
