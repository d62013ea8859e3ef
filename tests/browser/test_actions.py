"""The actions of each message: copy an answer as markdown, regenerate it (also after Stop), edit a
question and send it again, remove an answer stopped before its first word. Shown on hover and
focus, each reachable by keyboard."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from chat.simulator import Fault, Simulator

from .pages import MARKDOWN_ANSWER, ChatPage, OpenChat, ask, within

CLIPBOARD = {"permissions": ["clipboard-read", "clipboard-write"]}


async def clipboard(chat: ChatPage) -> str:
    text: str = await chat.page.evaluate("navigator.clipboard.readText()")
    return text


async def test_copy_an_answer_as_markdown_and_a_question_as_typed(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url, reduced_motion="reduce", **CLIPBOARD)
    await ask(chat, simulator, "Explain the relay\n  in markdown", MARKDOWN_ANSWER)
    await ask(chat, simulator, "Thanks", "You're welcome.")

    first_answer = chat.answers.first
    actions = first_answer.locator(".message-actions")
    await expect(actions).to_have_css("opacity", "0")  # out of the way until wanted
    await first_answer.hover()
    await expect(actions).to_have_css("opacity", "1")
    copy = first_answer.get_by_role("button", name="Copy answer")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    assert await clipboard(chat) == MARKDOWN_ANSWER  # the markdown itself, not the rendered text
    await expect(copy).to_have_text("Copy")

    await chat.messages.first.hover()
    await chat.messages.first.get_by_role("button", name="Copy question").click()
    assert await clipboard(chat) == "Explain the relay\n  in markdown"


async def test_every_action_is_reachable_by_keyboard(open_chat: OpenChat, chat_url: str, simulator: Simulator) -> None:
    chat = await open_chat(chat_url, reduced_motion="reduce")
    await ask(chat, simulator, "First question", "First answer.")
    await ask(chat, simulator, "Second question", "Second answer.")
    page = chat.page
    await chat.input.focus()
    # Backwards from the message box: the last answer's actions, then its question's, then the turn before.
    order = [
        (chat.answers.last, "Regenerate answer"),
        (chat.answers.last, "Copy answer"),
        (chat.messages.nth(2), "Edit question"),
        (chat.messages.nth(2), "Copy question"),
        (chat.answers.first, "Copy answer"),  # not the last answer any more: no Regenerate
    ]
    for message, name in order:
        await page.keyboard.press("Shift+Tab")
        await expect(message.get_by_role("button", name=name)).to_be_focused()
        await expect(message.locator(".message-actions")).to_have_css("opacity", "1")  # shown on focus

    await page.keyboard.press("Shift+Tab")
    edit = chat.messages.first.get_by_role("button", name="Edit question")
    await expect(edit).to_be_focused()
    await page.keyboard.press("Enter")
    box = chat.messages.first.get_by_role("textbox", name="Edit your question")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("First question")
    await page.keyboard.press("Escape")  # cancels the edit, and stops nothing
    await expect(box).to_have_count(0)
    await expect(edit).to_be_focused()
    await expect(chat.messages).to_have_count(4)


async def test_edit_a_question_replaces_the_turns_after_it(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    await ask(chat, simulator, "Trains from Paris?", "Several a day.")
    await ask(chat, simulator, "And to Lisbon?", "Change in Hendaye.")

    first = chat.messages.first
    await first.hover()
    await first.get_by_role("button", name="Edit question").click()
    box = first.get_by_role("textbox", name="Edit your question")
    await box.fill("Trains from Madrid?")
    simulator.script("Many, from Atocha.")
    await box.press("Enter")
    record = await within(simulator.next_request())
    assert [m["content"] for m in record.body["messages"] if m["role"] != "system"] == ["Trains from Madrid?"]
    await chat.wait_done()
    await expect(chat.messages.locator(".message-body")).to_have_text(["Trains from Madrid?", "Many, from Atocha."])

    await chat.page.reload()
    await expect(chat.messages.locator(".message-body")).to_have_text(["Trains from Madrid?", "Many, from Atocha."])


async def test_regenerate_after_an_answer_and_after_stop(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    await ask(chat, simulator, "Name a colour", "Blue.")
    first = simulator.requests[-1]

    simulator.script("Red.")
    await chat.last_answer.get_by_role("button", name="Regenerate answer").click()
    again = await within(simulator.next_request())
    assert again.body["messages"] == first.body["messages"]
    await chat.wait_done()
    await expect(chat.messages.locator(".message-body")).to_have_text(["Name a colour", "Red."])
    await expect(chat.input).to_be_focused()

    simulator.script("Green, and " + " ".join(["more"] * 200))
    simulator.fail_next(Fault.STALL, after_chunks=3)
    await chat.last_answer.get_by_role("button", name="Regenerate answer").click()
    stalled = await within(simulator.next_request())
    await expect(chat.answer_body()).to_contain_text("Green")
    await chat.stop_button.click()
    await within(stalled.ended.wait())
    await expect(chat.last_answer).to_have_attribute("data-status", "stopped")

    simulator.script("Yellow.")
    await chat.last_answer.get_by_role("button", name="Regenerate answer").click()
    await within(simulator.next_request())
    await chat.wait_done()
    await expect(chat.messages.locator(".message-body")).to_have_text(["Name a colour", "Yellow."])


async def test_an_answer_stopped_before_its_first_word_can_be_removed(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    simulator.fail_next(Fault.STALL, after_chunks=0)
    chat = await open_chat(chat_url)
    await chat.send("Think hard")
    record = await within(simulator.next_request())
    await within(record.streaming.wait())
    await chat.page.keyboard.press("Escape")
    await within(record.ended.wait())
    answer = chat.last_answer
    await expect(answer).to_have_attribute("data-status", "stopped")

    await answer.get_by_role("button", name="Remove this empty answer").click()
    await expect(chat.answers).to_have_count(0)
    await expect(chat.messages.locator(".message-body")).to_have_text(["Think hard"])
    await expect(chat.input).to_be_focused()
    await chat.page.reload()
    await expect(chat.messages.locator(".message-body")).to_have_text(["Think hard"])


async def test_screenshot_message_actions(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, output_dir: Path
) -> None:
    chat = await open_chat(chat_url, reduced_motion="reduce", viewport={"width": 1100, "height": 820})
    await ask(chat, simulator, "How does the relay stream an answer?", MARKDOWN_ANSWER)
    await ask(chat, simulator, "Can it stop early?", "Yes: **Stop** closes the upstream at once.")
    question = chat.messages.nth(2)
    await question.hover()
    await expect(question.locator(".message-actions")).to_have_css("opacity", "1")
    path = output_dir / "chat-message-actions.png"
    await chat.page.screenshot(path=path)
    assert path.stat().st_size > 10_000

    await question.get_by_role("button", name="Edit question").click()
    await expect(question.get_by_role("textbox", name="Edit your question")).to_be_focused()
    path = output_dir / "chat-edit-question.png"
    await chat.page.screenshot(path=path)
    assert path.stat().st_size > 10_000
