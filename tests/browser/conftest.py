"""Headless Chromium against the real app and the simulated upstream, on loopback.

Playwright's async API runs in the test's own event loop, beside the aiohttp servers, so a test
can await the simulator's records while the page streams. The loop is per test, and Playwright
is bound to the loop that started it, so each test launches its own browser (well under a second)
and opens fresh contexts from it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import (Browser, BrowserContext, ConsoleMessage, Error, FrameLocator, Locator, Page,
                                  async_playwright, expect)

from chat import Settings, create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 10_000
EVENT_TIMEOUT = 10.0  # seconds, for the simulator's records
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output"

# Reports every Content-Security-Policy violation (in every frame) to the test.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation({directive: event.violatedDirective, blocked: event.blockedURI,
                               sample: event.sample, source: event.sourceFile, line: event.lineNumber});
}, true);
"""
# Chromium logs every non-2xx fetch as a console error; the page's favicon is not ours to serve.
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")

expect.set_options(timeout=TIMEOUT_MS)

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


async def within(awaitable: Awaitable[T], seconds: float = EVENT_TIMEOUT) -> T:
    return await asyncio.wait_for(awaitable, seconds)


@dataclasses.dataclass
class PageProblems:
    """Console errors, uncaught exceptions and CSP violations seen by one browser context."""

    problems: list[str] = dataclasses.field(default_factory=list)
    expected_statuses: set[int] = dataclasses.field(default_factory=set)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed = FAILED_LOAD.match(message.text)
        url = message.location.get("url", "")
        if failed and url.endswith("/favicon.ico") and failed.group(1) == "404":
            return
        if failed and url.endswith("/api/chat") and int(failed.group(1)) in self.expected_statuses:
            return
        self.problems.append(f"console error: {message.text} ({url})")

    def on_page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught: {error}")

    def on_csp_violation(self, source: Any, violation: dict[str, Any]) -> None:
        self.problems.append(f"CSP violation: {violation}")


class ChatPage:
    """One open chat page and the few gestures the tests need."""

    def __init__(self, page: Page, problems: PageProblems, scope: Page | FrameLocator | None = None) -> None:
        self.page = page
        self.problems = problems
        scope = scope or page  # a FrameLocator when the chat is framed in a host page
        self.scope = scope
        self.input = scope.locator("#composer-input")
        self.send_button = scope.locator("#send")
        self.stop_button = scope.locator("#stop")
        self.messages = scope.locator("#messages > article")
        self.answers = scope.locator("#messages > article.message-assistant")
        self.conversations = scope.locator("#conversation-list > li")

    def framed(self, selector: str) -> ChatPage:
        """The chat inside the `<iframe>` that `selector` finds on this page."""
        return ChatPage(self.page, self.problems, self.page.frame_locator(selector))

    def expect_http_error(self, status: int) -> None:
        """The chat request is meant to fail with `status` (Chromium logs it as a console error)."""
        self.problems.expected_statuses.add(status)

    @property
    def last_answer(self) -> Locator:
        return self.answers.last

    def answer_body(self, answer: Locator | None = None) -> Locator:
        return (answer or self.last_answer).locator(".message-body")

    async def send(self, text: str) -> None:
        await self.input.fill(text)
        await self.input.press("Enter")

    async def wait_done(self, answer: Locator | None = None) -> None:
        answer = answer or self.last_answer
        await expect(answer).to_have_attribute("data-status", "done")
        await expect(self.send_button).to_be_visible()

    async def paragraphs(self, answer: Locator | None = None) -> list[str]:
        return await self.answer_body(answer).locator("p").all_text_contents()


OpenChat = Callable[..., Awaitable[ChatPage]]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                                   timeout=TIMEOUT_MS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def open_chat(browser: Browser) -> AsyncIterator[OpenChat]:
    """Open a URL in a fresh browser context; at the end, fail on any console error or CSP violation."""
    opened: list[tuple[BrowserContext, PageProblems]] = []

    async def open_(url: str, *, ready: bool = True, **context_options: Any) -> ChatPage:
        context = await browser.new_context(**context_options)
        context.set_default_timeout(TIMEOUT_MS)
        problems = PageProblems()
        opened.append((context, problems))
        await context.expose_binding("__reportCspViolation", problems.on_csp_violation)
        await context.add_init_script(CSP_LISTENER)
        page = await context.new_page()
        page.on("console", problems.on_console)
        page.on("pageerror", problems.on_page_error)
        await page.goto(url)
        if ready:  # the modules have run: they focus the message box, except on a touch screen
            composer = expect(page.locator("#composer-input"))
            if context_options.get("has_touch"):
                await expect(page.locator("#conversation-list")).to_be_attached()
                await composer.not_to_be_focused()  # no on-screen keyboard over the page on load
            else:
                await composer.to_be_focused()
        return ChatPage(page, problems)

    yield open_
    found = [problem for _, problems in opened for problem in problems.problems]
    for context, _ in opened:
        await context.close()
    assert not found, "\n".join(found)


@pytest.fixture
async def chat_url(aiohttp_server: Callable[..., Awaitable[TestServer]], settings: Settings) -> str:
    """The chat app against the simulator fixture, on a real loopback port."""
    server = await aiohttp_server(create_app(settings))
    return str(server.make_url("/"))


@pytest.fixture
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR
