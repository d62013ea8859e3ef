"""Pictures of the page (mid-answer in light, dark and phone; thinking; an answer with its reasoning) in
test-output/, for a person to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from chat.simulator import Fault, Simulator
from chat.simulator.answers import tokens

from .pages import MARKDOWN_ANSWER, PHONE, SECONDS, OpenChat, within


def chunks_before(text: str, marker: str) -> int:
    """How many of the simulator's chunks of `text` come entirely before `marker`."""
    offset, sent = text.index(marker), 0
    for count, piece in enumerate(tokens(text)):
        if sent + len(piece) > offset:
            return count
        sent += len(piece)
    raise ValueError(marker)


LOOKS: dict[str, dict[str, Any]] = {
    "chat-mid-answer": {"viewport": {"width": 1100, "height": 820}},
    "chat-mid-answer-dark": {"viewport": {"width": 1100, "height": 820}, "color_scheme": "dark"},
    "chat-mid-answer-phone": PHONE,
}


@pytest.mark.parametrize("name", LOOKS)
async def test_screenshot_mid_answer(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, output_dir: Path, name: str
) -> None:
    chat = await open_chat(chat_url, reduced_motion="reduce", **LOOKS[name])
    simulator.script("Hello! Ask me anything.")
    await chat.send("Hello!")
    await within(simulator.next_request())
    await chat.wait_done()
    simulator.token_delay = 0.02

    # The answer pauses inside the table, so every picture shows the same moment.
    simulator.script(MARKDOWN_ANSWER)
    simulator.fail_next(Fault.STALL, after_chunks=chunks_before(MARKDOWN_ANSWER, "| `error`"))
    await chat.send("How does the relay stream an answer?")
    record = await within(simulator.next_request())
    body = chat.answer_body()
    await expect(body.locator("table tbody tr")).to_have_count(2)
    await expect(body.locator("table tbody tr").last).to_contain_text("at the end")  # all sent before the pause
    await expect(body.locator(".code-block")).to_be_visible()
    await expect(chat.last_answer).to_have_attribute("data-status", "streaming")
    path = output_dir / f"{name}.png"
    await chat.page.screenshot(path=path)
    assert path.stat().st_size > 10_000
    await chat.stop_button.click()
    await within(record.ended.wait())


async def test_screenshot_thinking(open_chat: OpenChat, chat_url: str, simulator: Simulator, output_dir: Path) -> None:
    simulator.profile = "reasoning"
    simulator.thinking_time = 60.0
    chat = await open_chat(chat_url, reduced_motion="reduce", **LOOKS["chat-mid-answer"])
    await chat.send("Plan a three-day trip to Lisbon by train from Paris.")
    record = await within(simulator.next_request())
    await expect(chat.last_answer.locator(".thinking-elapsed")).to_have_text(SECONDS)
    path = output_dir / "chat-thinking.png"
    await chat.page.screenshot(path=path)
    assert path.stat().st_size > 10_000
    await chat.stop_button.click()
    await within(record.ended.wait())


async def test_screenshot_reasoning(
    open_chat: OpenChat,
    responses_chat_url: str,
    simulator: Simulator,
    output_dir: Path,
) -> None:
    simulator.profile = "responses"
    simulator.thinking_time = 0.5
    chat = await open_chat(responses_chat_url, reduced_motion="reduce", **LOOKS["chat-mid-answer"])
    simulator.script(MARKDOWN_ANSWER)
    await chat.send("How does the relay stream an answer?")
    await within(simulator.next_request())
    await chat.wait_done()
    reasoning = chat.last_answer.locator("details.message-reasoning")
    await reasoning.locator("summary").click()  # closed once the answer began; opened for the picture
    await expect(reasoning.locator(".reasoning-body")).to_be_visible()
    await chat.page.locator("#messages-scroller").evaluate("scroller => { scroller.scrollTop = 0; }")
    path = output_dir / "chat-reasoning.png"
    await chat.page.screenshot(path=path)
    assert path.stat().st_size > 10_000
