"""History that is safe to keep: export (JSON to import again, Markdown to read) and import, rename,
search across titles and text, groups by date, the title in the bar and the tab, New chat in one
tap on a phone, the model picked per conversation across reloads."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import Download, FilePayload, Locator, expect

from chat import Settings, create_app
from chat.simulator import Simulator

from .pages import PHONE, ChatPage, OpenChat, ask

Server = Callable[..., Awaitable[TestServer]]

STORAGE_KEY = "chat.conversations.v1"

# Conversations written into the page's storage before its scripts run, changed `days` ago by the
# page's own calendar (so the test does not depend on the machine's time zone).
SEED = """(([key, seeds]) => {
  const now = new Date();
  const changed = (days) => days === 0 ? Date.now() - 60000
    : new Date(now.getFullYear(), now.getMonth(), now.getDate() - days, 12).getTime();
  const conversations = seeds.map(([title, days, answer], number) => ({
    id: `seed-${number}`, title, createdAt: changed(days), updatedAt: changed(days),
    messages: [{role: "user", content: title}, {role: "assistant", content: answer, status: "done"}],
  }));
  localStorage.setItem(key, JSON.stringify({version: 1, conversations}));
})"""

SEEDS = [
    ("How do tides work?", 0, "The Moon pulls the oceans toward it."),
    ("Train or plane to Lisbon?", 1, "The train: a night in Hendaye, then the Sud Express."),
    ("A haiku about autumn", 3, "Leaves let go slowly; the river carries them south."),
    ("Explain Server-Sent Events", 40, "One long HTTP response; each event is a few text lines."),
]


async def seed(chat: ChatPage, seeds: list[tuple[str, int, str]]) -> None:
    # Before the page's scripts: the page saves what it holds when it is left, so a write from
    # outside while it is open would not outlive the reload.
    await chat.page.add_init_script(f"{SEED}({json.dumps([STORAGE_KEY, seeds])})")
    await chat.page.reload()
    await expect(item_titles(chat)).to_have_count(len(seeds))


def item_titles(chat: ChatPage) -> Locator:
    return chat.page.locator("#conversation-list .conversation-title")


async def downloaded(download: Download) -> str:
    path = await download.path()
    return await asyncio.to_thread(path.read_text, encoding="utf-8")


async def test_conversations_are_grouped_by_date(open_chat: OpenChat, chat_url: str) -> None:
    chat = await open_chat(chat_url)
    await seed(chat, SEEDS)
    groups = chat.page.locator("#conversation-list > li")
    await expect(groups.locator(".conversation-group-heading")).to_have_text(
        ["Today", "Yesterday", "Previous 7 days", "Older"]
    )
    for number, (title, _, _) in enumerate(SEEDS):
        await expect(groups.nth(number).locator(".conversation-title")).to_have_text([title])
    # Each group is a list named by its heading.
    await expect(chat.page.get_by_role("list", name="Yesterday").get_by_role("listitem")).to_have_count(1)


async def test_search_across_titles_and_text(open_chat: OpenChat, chat_url: str, output_dir: Path) -> None:
    chat = await open_chat(chat_url, reduced_motion="reduce", viewport={"width": 1100, "height": 720})
    await seed(chat, SEEDS)
    search = chat.page.get_by_role("searchbox", name="Search conversations")

    await search.fill("hendaye")  # only in an answer's text
    await expect(item_titles(chat)).to_have_text(["Train or plane to Lisbon?"])
    snippet = chat.page.locator("#conversation-list .conversation-snippet")
    await expect(snippet).to_have_text(["…train: a night in Hendaye, then the Sud Express."])  # cut between words
    await expect(snippet.locator("mark")).to_have_text("Hendaye")
    path = output_dir / "chat-search.png"
    await chat.page.screenshot(path=path)
    assert path.stat().st_size > 10_000

    await search.fill("TIDES")  # in a title, any case
    await expect(item_titles(chat)).to_have_text(["How do tides work?"])
    await search.fill("moon oceans")  # every word, anywhere in the conversation
    await expect(item_titles(chat)).to_have_text(["How do tides work?"])
    await search.fill("volcano")
    await expect(item_titles(chat)).to_have_count(0)
    await expect(chat.page.get_by_text("No conversation matches.")).to_be_visible()

    await search.press("Escape")  # clears the search
    await expect(search).to_have_value("")
    await expect(item_titles(chat)).to_have_count(len(SEEDS))
    await chat.page.get_by_role("button", name="Explain Server-Sent Events", exact=True).click()
    await expect(chat.messages.locator(".message-body")).to_have_text(
        ["Explain Server-Sent Events", "One long HTTP response; each event is a few text lines."]
    )


async def test_title_in_the_bar_and_the_tab_and_rename(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    page = chat.page
    title = page.locator("#conversation-title")
    await expect(title).to_have_text("New chat")
    await expect(page).to_have_title("Chat")
    await ask(chat, simulator, "How do tides work?", "The Moon.")
    await expect(title).to_have_text("How do tides work?")
    await expect(page).to_have_title("How do tides work? – Chat")

    await page.locator("#conversation-menu summary").click()
    await page.get_by_role("button", name="Rename").click()
    box = page.get_by_role("textbox", name="Conversation title")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("How do tides work?")
    await box.fill("Tides")
    await box.press("Enter")
    await expect(title).to_have_text("Tides")
    await expect(page).to_have_title("Tides – Chat")
    await expect(item_titles(chat)).to_have_text(["Tides"])

    await ask(chat, simulator, "And the Sun?", "It helps a little.")  # a new turn keeps the chosen name
    await page.reload()
    await expect(title).to_have_text("Tides")
    await expect(item_titles(chat)).to_have_text(["Tides"])

    await page.locator("#conversation-menu summary").click()
    await page.get_by_role("button", name="Rename").click()
    await box.fill("Not this")
    await box.press("Escape")  # cancels, and keeps the name
    await expect(title).to_have_text("Tides")


async def test_export_json_and_markdown_then_import_elsewhere(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    page = chat.page
    await ask(chat, simulator, "First topic", "First **answer**.")
    await page.get_by_role("button", name="New chat").click()
    await ask(chat, simulator, "Second topic", "Second answer.")

    # One conversation, from its menu: the open one.
    await page.locator("#conversation-menu summary").click()
    async with page.expect_download() as one:
        await page.get_by_role("button", name="Export as Markdown").click()
    markdown = await one.value
    assert markdown.suggested_filename.startswith("chat-second-topic-") and markdown.suggested_filename.endswith(".md")
    text = await downloaded(markdown)
    assert text.startswith("# Second topic\n")
    assert "## You\n\nSecond topic\n" in text and "## Assistant\n\nSecond answer.\n" in text
    assert "First topic" not in text

    # All of them, from the foot of the list.
    await page.locator("#history-tools summary").click()
    async with page.expect_download() as every:
        await page.get_by_role("button", name="Export all as Markdown").click()
    assert (await downloaded(await every.value)).count("\n---\n") == 1
    await page.locator("#history-tools summary").click()
    async with page.expect_download() as every:
        await page.get_by_role("button", name="Export all as JSON").click()
    exported = await every.value
    assert exported.suggested_filename.startswith("chat-conversations-")
    document = json.loads(await downloaded(exported))
    assert [c["title"] for c in document["conversations"]] == ["Second topic", "First topic"]

    # Another browser, nothing stored: the import brings both back as they were.
    other = await open_chat(chat_url)
    await expect(other.page.locator("#conversation-list .conversation-item")).to_have_count(0)
    await other.page.locator("#history-tools summary").click()
    async with other.page.expect_file_chooser() as chooser:
        await other.page.get_by_role("button", name="Import from JSON…").click()
    await (await chooser.value).set_files(str(await exported.path()))
    await expect(other.page.locator("#history-status")).to_have_text("Imported 2 conversations.")
    await expect(item_titles(other)).to_have_text(["Second topic", "First topic"])
    await other.page.get_by_role("button", name="First topic", exact=True).click()
    await expect(other.messages.locator(".message-body")).to_have_text(["First topic", "First answer."])
    await other.page.reload()
    await expect(item_titles(other)).to_have_text(["Second topic", "First topic"])

    # A file that is not an export is refused in words.
    await other.page.locator("#history-tools summary").click()
    notes: FilePayload = {"name": "notes.json", "mimeType": "application/json", "buffer": b'{"notes": []}'}
    await other.page.locator("#import-file").set_input_files(files=notes)
    await expect(other.page.locator("#history-status")).to_have_text(
        "That file holds no conversations exported from this page."
    )


async def test_new_chat_is_one_tap_away_on_a_phone(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, output_dir: Path
) -> None:
    chat = await open_chat(chat_url, reduced_motion="reduce", **PHONE)
    simulator.script("Hello from the phone.")
    await chat.input.tap()
    await chat.input.fill("Hello?")
    await chat.send_button.tap()
    await chat.wait_done()
    await expect(chat.page.locator("#sidebar")).to_be_hidden()
    new_chat = chat.page.get_by_role("button", name="New chat")
    await expect(new_chat).to_be_in_viewport()
    path = output_dir / "chat-phone-bar.png"
    await chat.page.screenshot(path=path)
    assert path.stat().st_size > 10_000
    await new_chat.tap()
    await expect(chat.messages).to_have_count(0)
    await expect(chat.page.locator("#conversation-title")).to_have_text("New chat")
    assert await chat.page.evaluate("document.documentElement.scrollWidth") <= 390


async def test_the_model_picked_stays_with_its_conversation(
    open_chat: OpenChat, aiohttp_server: Server, settings: Settings, simulator: Simulator
) -> None:
    server = await aiohttp_server(create_app(dataclasses.replace(settings, deployments=("gpt-4o", "gpt-4o-mini"))))
    chat = await open_chat(str(server.make_url("/")))
    page = chat.page
    picker = page.get_by_label("Model")
    await picker.select_option("gpt-4o-mini")
    await ask(chat, simulator, "Small question", "Small answer.")
    assert simulator.requests[-1].body["model"] == "gpt-4o-mini"

    await page.get_by_role("button", name="New chat").click()
    await expect(picker).to_have_value("gpt-4o-mini")  # a new chat starts with the model picked last
    await picker.select_option("gpt-4o")
    await ask(chat, simulator, "Big question", "Big answer.")
    assert simulator.requests[-1].body["model"] == "gpt-4o"

    await page.reload()
    await expect(picker).to_have_value("gpt-4o")  # the newest conversation opens, with its model
    await page.get_by_role("button", name="Small question", exact=True).click()
    await expect(picker).to_have_value("gpt-4o-mini")
    await ask(chat, simulator, "Still small?", "Yes.")
    assert simulator.requests[-1].body["model"] == "gpt-4o-mini"
