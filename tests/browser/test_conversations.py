"""Conversations live in the browser: a reload keeps them, New chat starts one, Delete (and Undo) work."""

from __future__ import annotations

from playwright.async_api import expect

from chat.simulator import Simulator

from .pages import ChatPage, OpenChat, ask, within


async def expect_conversation(chat: ChatPage, texts: list[str]) -> None:
    await expect(chat.messages.locator(".message-body")).to_have_text(texts)


async def test_reload_keeps_conversations_new_chat_and_delete(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    page = chat.page
    await ask(chat, simulator, "First question", "First answer.")
    assert await chat.paragraphs() == ["First answer."]
    await ask(chat, simulator, "A follow-up", "Second answer.")
    assert await chat.paragraphs() == ["Second answer."]
    assert simulator.requests[-1].body["messages"][-3:] == [
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "A follow-up"},
    ]
    first = ["First question", "First answer.", "A follow-up", "Second answer."]
    await expect(chat.conversations.locator(".conversation-open")).to_have_text(["First question"])

    await page.reload()
    await expect_conversation(chat, first)
    await expect(chat.conversations.get_by_role("button", name="First question", exact=True)).to_have_attribute(
        "aria-current", "true"
    )

    await page.get_by_role("button", name="New chat").click()
    await expect(chat.messages).to_have_count(0)
    await expect(page.locator("#empty-state")).to_be_visible()
    await expect(chat.input).to_be_focused()
    await ask(chat, simulator, "Another topic", "Third answer.")
    assert await chat.paragraphs() == ["Third answer."]
    assert [m["role"] for m in simulator.requests[-1].body["messages"]] == ["system", "user"]  # a fresh start
    await expect(chat.conversations.locator(".conversation-open")).to_have_text(["Another topic", "First question"])

    await page.reload()  # the newest conversation opens
    await expect_conversation(chat, ["Another topic", "Third answer."])
    await chat.conversations.get_by_role("button", name="First question", exact=True).click()
    await expect_conversation(chat, first)

    delete = chat.conversations.get_by_role("button", name="Delete conversation: Another topic")
    await delete.click()
    await expect(chat.conversations.locator(".conversation-open")).to_have_text(["First question"])
    await expect(page.locator("#undo-bar")).to_contain_text("Deleted “Another topic”.")
    await page.get_by_role("button", name="Undo").click()
    await expect(chat.conversations.locator(".conversation-open")).to_have_text(["Another topic", "First question"])
    # The open conversation stays open; the keyboard goes on from the one that came back.
    await expect_conversation(chat, first)
    await expect(chat.conversations.get_by_role("button", name="Another topic", exact=True)).to_be_focused()

    await delete.click()
    await expect_conversation(chat, first)
    await page.reload()
    await expect(chat.conversations.locator(".conversation-open")).to_have_text(["First question"])
    await expect_conversation(chat, first)
    assert len(simulator.requests) == 3
    await within(simulator.requests[-1].ended.wait())
