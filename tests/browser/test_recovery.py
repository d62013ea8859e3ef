"""Ways out of a stuck chat: a question the content filter refused, a full storage, a server that
cannot be reached (told apart from a connection lost mid-answer), the network going away."""

from __future__ import annotations

import asyncio
import json

import pytest
from playwright.async_api import Route, expect

from chat.simulator import Fault, Simulator

from .pages import ChatPage, OpenChat, ask, within
from .test_accessibility import axe_violations

# Chromium logs a request that never reached a server as a console error; here that is the point.
NETWORK_FAILURES = ("net::ERR_CONNECTION_REFUSED", "net::ERR_INTERNET_DISCONNECTED")

# Fills the origin's storage to the last byte with another key, as other data of the site would.
FILL_STORAGE = """() => {
  let count = 0;
  for (let size = 1 << 20; size >= 1; size >>= 1) {
    for (;;) {
      try { localStorage.setItem(`filler.${count}`, "x".repeat(size)); count += 1; } catch { break; }
    }
  }
  return count;
}"""


async def cut_short(route: Route) -> None:
    """An answer's stream that breaks after its first words."""
    frame = 'event: delta\ndata: {"content": "Half an ans"}\n\n'
    await route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=frame)


def forgive_network_failures(chat: ChatPage) -> None:
    chat.problems.problems[:] = [p for p in chat.problems.problems if not any(f in p for f in NETWORK_FAILURES)]


def sent(record_body: dict[str, object]) -> list[str]:
    messages = record_body["messages"]
    assert isinstance(messages, list)
    return [m["content"] for m in messages if m["role"] != "system"]


async def test_a_refused_question_is_left_out_and_offers_edit(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    chat.expect_http_error(400)
    await ask(chat, simulator, "A fine question", "A fine answer.")

    simulator.fail_next(Fault.PROMPT_FILTERED)
    await chat.send("A question the filter refuses")
    await within(simulator.next_request())
    refused = chat.answers.nth(1)
    await expect(refused).to_have_attribute("data-status", "refused")
    await expect(refused.get_by_role("alert")).to_have_text(
        "Your message was blocked by the content filter. Rephrase it and send again."
    )
    await expect(refused.get_by_role("button", name="Retry")).to_have_count(0)
    edit = refused.get_by_role("button", name="Edit question")
    await expect(edit).to_be_visible()

    # A later question goes without the refused one, so the chat is not stuck.
    record = await ask(chat, simulator, "Another question", "Another answer.")
    assert sent(record.body) == ["A fine question", "A fine answer.", "Another question"]

    await chat.page.reload()  # still left out after a reload
    record = await ask(chat, simulator, "One more", "Sure.")
    assert sent(record.body) == ["A fine question", "A fine answer.", "Another question", "Another answer.", "One more"]

    # Edit from the refused turn: the question opens in place; sent again, it replaces what came after.
    await edit.click()
    box = chat.messages.nth(2).get_by_role("textbox", name="Edit your question")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("A question the filter refuses")
    await box.fill("A question put differently")
    simulator.script("Now it can be answered.")
    await box.press("Enter")
    record = await within(simulator.next_request())
    assert sent(record.body) == ["A fine question", "A fine answer.", "A question put differently"]
    await chat.wait_done()
    await expect(chat.messages).to_have_count(4)


async def test_a_full_storage_still_shows_the_history_and_makes_room(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    page = chat.page
    await ask(chat, simulator, "Stored before the storage filled up", "Kept.")
    await page.get_by_role("button", name="New chat").click()
    await ask(chat, simulator, "Also stored", "Kept too.")
    assert await page.evaluate(FILL_STORAGE) > 0

    await page.reload()
    titles = page.locator("#conversation-list .conversation-title")
    await expect(titles).to_have_text(["Also stored", "Stored before the storage filled up"])
    warning = page.locator("#storage-warning")
    await expect(warning).to_be_visible()
    await expect(warning.get_by_role("status")).to_have_text(
        "This browser's storage is full: new messages are not saved. Export conversations, or delete some to make room."
    )

    async with page.expect_download() as download:
        await warning.get_by_role("button", name="Export all").click()
    path = await (await download.value).path()
    exported = json.loads(await asyncio.to_thread(path.read_bytes))
    assert [c["title"] for c in exported["conversations"]] == ["Also stored", "Stored before the storage filled up"]

    await warning.get_by_role("button", name="Delete conversations").click()
    await expect(page.get_by_role("searchbox", name="Search conversations")).to_be_focused()
    await page.get_by_role("button", name="Delete conversation: Stored before the storage filled up").click()
    await expect(warning).to_be_hidden()  # the smaller history was saved
    await page.reload()
    await expect(titles).to_have_text(["Also stored"])


async def test_an_unreachable_server_is_not_a_lost_connection(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    page = chat.page

    async def server_down(route: Route) -> None:
        await route.abort("connectionrefused")

    await page.route("**/api/chat", server_down)
    await chat.send("Anyone there?")
    answer = chat.last_answer
    await expect(answer).to_have_attribute("data-status", "error")
    await expect(answer.get_by_role("alert")).to_have_text(
        "Could not reach the server. It may be restarting, or the network is down. Try again in a moment."
    )
    await page.unroute("**/api/chat", server_down)
    simulator.script("Back again.")
    await answer.get_by_role("button", name="Retry").click()
    await within(simulator.next_request())
    await chat.wait_done()
    await expect(chat.messages.locator(".message-body")).to_have_text(["Anyone there?", "Back again."])

    # The stream breaking part-way says so, with the text that came.
    await page.route("**/api/chat", cut_short)
    await chat.send("And then?")
    answer = chat.last_answer
    await expect(answer).to_have_attribute("data-status", "lost")
    await expect(answer.locator(".status-lost")).to_have_text("Connection lost before the answer was complete.")
    await expect(chat.answer_body()).to_have_text("Half an ans")
    await expect(answer.get_by_role("button", name="Retry")).to_be_enabled()
    forgive_network_failures(chat)


async def test_offline_the_question_is_sent_again_once_back_online(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    await chat.page.context.set_offline(True)
    await chat.send("Sent while offline")
    answer = chat.last_answer
    await expect(answer.get_by_role("alert")).to_have_text(
        "You are offline. The question is sent again when the connection is back."
    )
    assert simulator.requests == []

    simulator.script("Received once online.")
    await chat.page.context.set_offline(False)
    record = await within(simulator.next_request())
    assert sent(record.body) == ["Sent while offline"]
    await chat.wait_done()
    await expect(chat.messages.locator(".message-body")).to_have_text(["Sent while offline", "Received once online."])
    forgive_network_failures(chat)


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_a_connection_lost_mid_answer_is_announced_and_so_is_one_after_a_reload(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, color_scheme: str
) -> None:
    chat = await open_chat(chat_url, bypass_csp=True, color_scheme=color_scheme)  # axe: an inline script
    page = chat.page

    await page.route("**/api/chat", cut_short)
    await chat.send("And then?")
    answer = chat.last_answer
    await expect(answer).to_have_attribute("data-status", "lost")
    await expect(answer.get_by_role("alert")).to_have_text("Connection lost before the answer was complete.")
    assert await axe_violations(page) == []
    await page.unroute("**/api/chat", cut_short)

    # A reload mid-answer, and the server no longer has it for this page (the real server's refusal).
    simulator.token_delay = 0.02
    simulator.script("Counting: " + " ".join(f"w{n}" for n in range(200)))
    await chat.send("Count slowly")
    await expect(chat.answer_body()).to_contain_text("w5 ")

    async def not_yours(route: Route) -> None:
        await route.continue_(headers=route.request.headers | {"x-answer-secret": "not-the-secret"})

    await page.route("**/api/answers/**", not_yours)
    chat.expect_http_error(404)
    await page.reload()
    answer = chat.last_answer
    await expect(answer).to_have_attribute("data-status", "lost")
    await expect(answer.get_by_role("alert")).to_have_text(
        "The connection was lost, and the server no longer has the answer."
    )
    assert await axe_violations(page) == []
