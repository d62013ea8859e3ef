"""How the page's files load: on a first visit every module at once (each one preloaded, none found
one import at a time), compressed; on the next visit all of them from the cache; highlight.js only
when an answer has code."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from chat.simulator import Simulator

from .pages import OpenChat, ask

# What the page fetched, as Chromium tells it: each file's URL, what made the browser fetch it
# ("script": an import found in a module), when it was asked for and when it had come, and its bytes
# on the wire (0 when the cache had it).
RESOURCES = """performance.getEntriesByType("resource").map((entry) => ({
  url: entry.name, initiator: entry.initiatorType, asked: entry.startTime, came: entry.responseEnd,
  transferred: entry.transferSize, encoded: entry.encodedBodySize, decoded: entry.decodedBodySize,
}))"""
PRELOADS = "[...document.querySelectorAll('link[rel=modulepreload]')].map((link) => link.href)"
ENTRY = "document.querySelector('script[type=module]').src"


async def static_files(page: Page) -> list[dict[str, Any]]:
    return [entry for entry in await page.evaluate(RESOURCES) if "/static/" in entry["url"]]


async def test_every_module_is_preloaded_and_the_next_visit_takes_them_from_the_cache(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    page = chat.page
    preloads, entry = await page.evaluate(PRELOADS), await page.evaluate(ENTRY)
    loaded = await static_files(page)
    modules = [file for file in loaded if file["url"].split("?")[0].endswith(".js")]
    # Each module the page ran was fetched once, because the page named it: none was found in an
    # import and fetched only then, a round trip later (all were asked for before app.js had come).
    assert sorted(file["url"] for file in modules) == sorted([entry, *preloads])
    [script] = [file for file in modules if file["url"] == entry]
    late = [
        file["url"]
        for file in modules
        if file is not script and (file["initiator"] == "script" or file["asked"] > script["came"])
    ]
    assert late == []
    assert all("?v=" in file["url"] for file in loaded)
    marked = next(file for file in modules if "marked.esm.js" in file["url"])
    assert 0 < marked["encoded"] < marked["decoded"] / 2  # gzipped
    assert not any("highlight.min.js" in file["url"] or "katex.min.js" in file["url"] for file in loaded)

    await page.goto(chat_url)
    await expect(page.locator("#composer-input")).to_be_focused()  # the modules have run again
    again = await static_files(page)
    assert {file["url"] for file in again} == {file["url"] for file in loaded}
    assert [file["url"] for file in again if file["transferred"] != 0] == []  # all from the cache, not even a 304

    # highlight.js is fetched when the first code block needs it, under its version too.
    await ask(chat, simulator, "Some code?", "```python\nprint('hello')\n```")
    await expect(chat.answer_body().locator(".hljs-string")).to_have_text("'hello'")
    [highlight] = [file for file in await static_files(page) if "highlight.min.js" in file["url"]]
    assert "?v=" in highlight["url"] and highlight["url"] not in preloads
