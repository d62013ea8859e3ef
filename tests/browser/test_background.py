"""An answer goes on in its own conversation while another is open: switching chats or pressing New
chat mid-answer does not stop it. The list marks it as answering, with its own Stop."""

from __future__ import annotations

from playwright.async_api import Locator, expect

from chat.simulator import Fault, Simulator
from chat.simulator.answers import tokens

from .pages import ChatPage, OpenChat, within

LONG_ANSWER = " ".join(f"word{number}" for number in range(150))


def item(chat: ChatPage, title: str) -> Locator:
    return chat.page.locator("#conversation-list .conversation-item").filter(
        has=chat.page.get_by_role("button", name=title)
    )


async def test_new_chat_mid_answer_lets_it_finish_in_the_background(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    simulator.token_delay = 0.02  # about three seconds in all
    simulator.script(LONG_ANSWER)
    chat = await open_chat(chat_url)
    page = chat.page
    await chat.send("Count slowly")
    first = await within(simulator.next_request())
    await expect(chat.answer_body()).to_contain_text("word5 ")

    await page.get_by_role("button", name="New chat").click()
    await expect(chat.messages).to_have_count(0)
    await expect(chat.send_button).to_be_visible()  # this conversation has no answer being written
    answering = item(chat, "Count slowly")
    await expect(answering).to_have_class("conversation-item answering")
    await expect(answering.locator(".conversation-state")).to_have_text("Answering…")
    await expect(answering.get_by_role("button", name="Stop the answer: Count slowly")).to_be_visible()

    simulator.script("Meanwhile, here.")  # the new chat asks at the same time
    await chat.send("Another question")
    second = await within(simulator.next_request())
    await chat.wait_done()
    assert await chat.paragraphs() == ["Meanwhile, here."]
    assert not first.ended.is_set()

    await within(first.ended.wait())
    assert first.completed and not first.hung_up
    await expect(answering).to_have_class("conversation-item")
    await page.get_by_role("button", name="Count slowly", exact=True).click()
    await chat.wait_done()
    await expect(chat.answer_body()).to_have_text(LONG_ANSWER)
    await page.reload()  # kept whole
    await page.get_by_role("button", name="Count slowly", exact=True).click()
    await expect(chat.answer_body()).to_have_text(LONG_ANSWER)
    await within(second.ended.wait())


async def test_back_in_the_conversation_the_answer_is_live_and_stop_works(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    simulator.script("First answer.")
    chat = await open_chat(chat_url)
    page = chat.page
    await chat.send("Earlier conversation")
    await within(simulator.next_request())
    await chat.wait_done()
    await page.get_by_role("button", name="New chat").click()

    simulator.script(LONG_ANSWER)
    simulator.fail_next(Fault.STALL, after_chunks=20)  # writes a little, then waits for the reader to leave
    written = "".join(tokens(LONG_ANSWER)[:20]).strip()
    await chat.send("Keep writing")
    record = await within(simulator.next_request())
    await expect(chat.answer_body()).to_have_text(written)
    await page.get_by_role("button", name="Earlier conversation", exact=True).click()
    await expect(chat.messages.locator(".message-body")).to_have_text(["Earlier conversation", "First answer."])
    await expect(chat.stop_button).to_be_hidden()

    await page.get_by_role("button", name="Keep writing", exact=True).click()
    await expect(chat.last_answer).to_have_attribute("data-status", "streaming")
    await expect(chat.answer_body()).to_have_text(written)
    await expect(chat.stop_button).to_be_visible()
    await page.keyboard.press("Escape")
    await within(record.ended.wait())
    assert record.hung_up
    await expect(chat.last_answer).to_have_attribute("data-status", "stopped")
    await expect(chat.answer_body()).to_have_text(written)


async def test_stop_from_the_list_and_switching_does_not_stop(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    page = chat.page
    simulator.script("Here first.")
    await chat.send("Open one")
    await within(simulator.next_request())
    await chat.wait_done()
    await page.get_by_role("button", name="New chat").click()
    simulator.fail_next(Fault.STALL, after_chunks=0)
    await chat.send("Silent one")
    record = await within(simulator.next_request())
    await within(record.streaming.wait())

    await page.get_by_role("button", name="Open one", exact=True).click()  # switching away
    await expect(item(chat, "Silent one")).to_have_class("conversation-item answering")
    assert not record.ended.is_set()
    await page.get_by_role("button", name="Stop the answer: Silent one").click()
    await within(record.ended.wait())
    assert record.hung_up
    await expect(item(chat, "Silent one")).to_have_class("conversation-item")
    await expect(chat.messages.locator(".message-body")).to_have_text(["Open one", "Here first."])
