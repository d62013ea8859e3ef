"""Benchmark the chat page's main thread: `python -m bench.page` (about a minute).

Headless Chromium opens the real page against the real app and the simulated endpoint, on loopback.
A scripted 16 KB markdown answer (headings, lists, code, tables, math) streams at 250 tokens per
second (`SIMULATOR_TOKEN_DELAY` 0.004); meanwhile the page counts its long tasks (a
PerformanceObserver of type 'longtask': tasks over 50 ms) and the DevTools protocol's
`Performance.getMetrics` gives the main thread's busy time (`TaskDuration`). Then two answers that
once froze the tab, a 200,000-character word and a 500-level nested list, stream at full speed and
are drawn again from storage on a reload; the longest task of each is what a person waits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
import time
from collections.abc import AsyncIterator

from aiohttp import web
from playwright.async_api import Browser, CDPSession, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from chat import Settings, create_app
from chat.simulator import Simulator
from chat.simulator.answers import tokens

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TOKEN_DELAY = 0.004  # 250 tokens per second
TIMEOUT_MS = 120_000
HARD_TIMEOUT_MS = 60_000  # a page that has not drawn a hard answer by then is frozen

# Collects every long task (over 50 ms) the page's main thread runs, from the first script on.
LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""

SECTION = """## Part {n}: streaming, step by step

The relay copies each token to the browser **as soon as it arrives**, and `Stop` closes the upstream.
A price of $5 and $10 stays prose; the mean is $\\bar x = \\frac{{1}}{{n}}\\sum_i x_i$.

1. The browser posts the conversation.
2. The server opens one upstream stream.
   - nested: each read leaves as one frame
   - nested: a slow reader gets fewer, larger frames

- [x] decode the upstream's bytes
- [ ] write them to the client

```python
async def relay(upstream, client):
    async for chunk in upstream:  # part {n}
        await client.send(chunk)
    return {{"frames": client.frames, "bytes": client.bytes}}
```

| Event | Data | When |
|---|---|---|
| `delta` | text | while the model writes |
| `done` | finish reason | at the end |
| `error` | code and message | on failure |

"""


def long_markdown(size: int = 16_384) -> str:
    """A markdown answer of about `size` characters, made of sections like one model answer."""
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        parts.append(SECTION.format(n=len(parts) + 1))
    return "".join(parts) + "The end."


LONG_WORD = "word_" * 40_000  # 200,000 characters, like a long identifier
NESTED_LIST = "".join("  " * depth + "- level\n" for depth in range(500))


@dataclasses.dataclass
class Figures:
    seconds: float
    busy_share: float
    long_tasks: list[float]
    busy_seconds: float = 0.0


@contextlib.asynccontextmanager
async def chat_server(simulator: Simulator) -> AsyncIterator[str]:
    """The chat app on loopback against `simulator`; yields the page's URL."""
    async with simulator.serving() as endpoint:
        settings = Settings(
            backend="azure",
            endpoint=endpoint,
            api_key=simulator.api_key,
            deployments=("gpt-bench",),
            max_retries=0,
            requests_per_minute=0,
        )
        runner = web.AppRunner(create_app(settings), handler_cancellation=True, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
        finally:
            await runner.cleanup()


async def task_duration(cdp: CDPSession) -> float:
    metrics = (await cdp.send("Performance.getMetrics"))["metrics"]
    return float(next(metric["value"] for metric in metrics if metric["name"] == "TaskDuration"))


async def long_tasks(page: Page) -> list[float]:
    return [float(duration) for duration in await page.evaluate("window.__longTasks.splice(0)")]


async def answer(page: Page, simulator: Simulator, text: str, question: str, timeout: int = TIMEOUT_MS) -> Figures:
    """Send `question`, which `simulator` answers with `text`; measure until the answer is drawn whole."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    simulator.script(text)
    await long_tasks(page)
    busy_before, started = await task_duration(cdp), time.perf_counter()
    await page.locator("#composer-input").fill(question)
    await page.locator("#composer-input").press("Enter")
    await page.locator("#messages > article.message-assistant[data-status='done']").last.wait_for(timeout=timeout)
    busy, seconds = await task_duration(cdp) - busy_before, time.perf_counter() - started
    await cdp.detach()
    return Figures(seconds, busy / seconds, await long_tasks(page), busy)


async def reload(page: Page, timeout: int = TIMEOUT_MS) -> Figures:
    """Draw the stored conversation again from a fresh load."""
    started = time.perf_counter()
    await page.reload(timeout=timeout)
    await page.locator("#messages > article.message-assistant[data-status='done']").last.wait_for(timeout=timeout)
    seconds = time.perf_counter() - started
    return Figures(seconds, 0.0, await long_tasks(page))


async def fresh_page(browser: Browser, url: str) -> Page:
    context = await browser.new_context(viewport={"width": 1100, "height": 820})
    await context.add_init_script(LONG_TASKS)
    page = await context.new_page()
    await page.goto(url)
    await page.locator("#conversation-list").wait_for(state="attached")
    return page


def longest(figures: Figures) -> str:
    return f"{max(figures.long_tasks, default=0):.0f} ms"


ANSWER_BODY = "#messages > article.message-assistant:last-child .message-body"


async def run(rounds: int) -> int:
    text = long_markdown()
    simulator = Simulator(token_delay=TOKEN_DELAY)
    failed = False
    async with chat_server(simulator) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            print(f"16 KB answer: {len(text):,} characters, {len(tokens(text)):,} tokens at {1 / TOKEN_DELAY:.0f}/s")
            for round_ in range(1, rounds + 1):
                page = await fresh_page(browser, url)
                figures = await answer(page, simulator, text, f"Write a long answer ({round_})")
                over = [duration for duration in figures.long_tasks if duration > 50]
                tables = await page.locator(f"{ANSWER_BODY} table").count()
                whole = tables == text.count("| Event |")
                failed |= not whole
                print(
                    f"  round {round_}: {figures.seconds:.1f} s, main thread busy {figures.busy_share:.0%} "
                    f"({figures.busy_seconds:.1f} s), "
                    f"tasks over 50 ms: {len(over)}, longest {longest(figures)}, "
                    f"all {tables} tables drawn: {'yes' if whole else 'NO'}"
                )
                await page.context.close()

            simulator.token_delay = 0.0
            for name, hard in (("200,000-character word", LONG_WORD), ("500-level nested list", NESTED_LIST)):
                page = await fresh_page(browser, url)
                try:
                    streamed = await answer(page, simulator, hard, f"Something hard: {name}", HARD_TIMEOUT_MS)
                    again = await reload(page, HARD_TIMEOUT_MS)
                except PlaywrightTimeoutError:
                    failed = True
                    print(f"{name}: not drawn within {HARD_TIMEOUT_MS // 1000} s: the tab is frozen")
                else:
                    print(
                        f"{name}: streamed in {streamed.seconds:.1f} s, longest task {longest(streamed)}; "
                        f"drawn again on reload in {again.seconds:.2f} s, longest task {longest(again)}"
                    )
                await page.context.close()
        finally:
            await browser.close()
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="how many times the 16 KB answer streams")
    sys.exit(asyncio.run(run(parser.parse_args().rounds)))


if __name__ == "__main__":
    main()
