"""Headless Chromium against the real app and the simulated upstream, on loopback.

Playwright's async API runs in the test's event loop, beside the aiohttp servers, so a test can
await the simulator's records while the page streams. Playwright is bound to the loop that started
it, so the browser tests and their async fixtures share one event loop for the whole session: one
Chromium serves them all, each test in fresh contexts (starting Playwright and Chromium took about
1.5 s a test; a context takes 0.4 s). An async fixture for these tests is therefore declared with
`@pytest_asyncio.fixture(loop_scope="session")`. The page and its gestures are in `pages.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, async_playwright, expect
from pytest_aiohttp import AiohttpServer

from chat import Settings, create_app
from chat.simulator import Simulator

from .pages import CSP_LISTENER, TIMEOUT_MS, ChatPage, OpenChat, PageProblems

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output"
SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
            item.add_marker(SESSION_LOOP, append=False)  # before the one asyncio's auto mode gave it


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def aiohttp_server() -> AsyncIterator[AiohttpServer]:
    """pytest-aiohttp's server factory, serving in the session's loop, where the browser is."""
    loop = asyncio.get_running_loop()
    servers: list[TestServer] = []

    async def serve(app: web.Application, *, port: int | None = None, **kwargs: Any) -> TestServer:
        assert asyncio.get_running_loop() is loop, (
            "browser tests run in the session's event loop: declare their async fixtures with "
            '@pytest_asyncio.fixture(loop_scope="session")'
        )
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server(**kwargs)
        servers.append(server)
        return server

    yield serve
    while servers:
        await servers.pop().close()


@pytest_asyncio.fixture(loop_scope="session")
async def upstream(aiohttp_server: AiohttpServer, simulator: Simulator) -> TestServer:
    return await aiohttp_server(simulator.app)


@pytest_asyncio.fixture(loop_scope="session")
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


@pytest_asyncio.fixture(loop_scope="session")
async def chat_url(aiohttp_server: AiohttpServer, settings: Settings) -> str:
    """The chat app against the simulator fixture, on a real loopback port."""
    server = await aiohttp_server(create_app(settings))
    return str(server.make_url("/"))


@pytest_asyncio.fixture(loop_scope="session")
async def responses_chat_url(aiohttp_server: AiohttpServer, settings: Settings) -> str:
    """The chat app with its deployment on the Responses API, which shares a summary of the reasoning."""
    server = await aiohttp_server(create_app(dataclasses.replace(settings, responses_deployments=("gpt-test",))))
    return str(server.make_url("/"))


@pytest.fixture
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR
