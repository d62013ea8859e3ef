"""Benchmark the chat page: `python -m bench.page` (about two minutes).

Headless Chromium opens the real page against the real app and the simulated endpoint, on loopback.

- The first load, cold (an empty cache) and warm (the same browser again), with 100 ms added to every
  request by the DevTools protocol's `Network.emulateNetworkConditions`: the bytes that crossed the
  network, the requests that reached the server, the round trips (the longest chain of requests each
  waiting on one before it: the page, then what the page names, then what those import...), and the
  time until the page is usable (its modules have run: they put the focus in the message box).
- A scripted 6,000-token markdown answer (headings, lists, code, tables, math) streams at 250 tokens
  per second (`SIMULATOR_TOKEN_DELAY` 0.004); meanwhile the page counts its long tasks (a
  PerformanceObserver of type 'longtask': tasks over 50 ms) and `Performance.getMetrics` gives the
  main thread's time in tasks (`TaskDuration`), as a share of the answer's time.
- Two answers that once froze the tab, a 200,000-character word and a 500-level nested list, stream
  at full speed and are drawn again from storage on a reload; the longest task of each is what a
  person waits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from playwright.async_api import Browser, BrowserContext, CDPSession, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from chat import Settings, create_app
from chat.simulator import Simulator
from chat.simulator.answers import tokens

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TOKEN_DELAY = 0.004  # 250 tokens per second
ANSWER_TOKENS = 6_000
ADDED_LATENCY_MS = 100
TIMEOUT_MS = 120_000
HARD_TIMEOUT_MS = 60_000  # a page that has not drawn a hard answer by then is frozen

BUSY_GOAL = 0.15  # of the main thread, while the answer streams
LONG_TASK_MS = 50  # no task longer than this
ROUND_TRIPS_GOAL = 2  # the page, then every module its script needs at once

# Every long task (over 50 ms) the page's main thread runs, from the first script on; and when the
# page became usable: the app's modules have run when they put the focus in the message box.
PAGE_PROBES = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
document.addEventListener("focusin", (event) => {
  if (event.target.id === "composer-input") window.__usableAt ??= performance.now();
}, true);
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


def long_markdown(token_count: int = ANSWER_TOKENS) -> str:
    """A markdown answer of at least `token_count` of the simulator's tokens, in sections like one model answer."""
    parts: list[str] = []
    while len(tokens("".join(parts))) < token_count:
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

    @property
    def longest(self) -> float:
        return max(self.long_tasks, default=0.0)


@dataclasses.dataclass
class Load:
    """One load of the page and its static files (the API calls its script makes aside), as the network saw it."""

    bytes: int  # over the network: headers and (compressed) bodies
    requests: int  # that reached the server (not served from the cache)
    round_trips: int  # the longest chain of those requests, each waiting on one before it
    usable_ms: float  # from the navigation's start until the app's modules had run


@dataclasses.dataclass
class PageRun:
    text: str
    rounds: list[Figures]
    cold: Load
    warm: Load
    hard: list[str]  # a line for each hard answer
    frozen: bool  # a hard answer was not drawn in time, or a round lost a table
    load_average: float  # of the machine over the minute before the run: others' work stretches the figures

    @property
    def busy_share(self) -> float:
        return statistics.median(figures.busy_share for figures in self.rounds)

    @property
    def longest_task(self) -> float:
        return max(figures.longest for figures in self.rounds)


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


async def new_context(browser: Browser) -> BrowserContext:
    context = await browser.new_context(viewport={"width": 1100, "height": 820})
    await context.add_init_script(PAGE_PROBES)
    return context


async def fresh_page(browser: Browser, url: str) -> Page:
    page = await (await new_context(browser)).new_page()
    await page.goto(url)
    await page.wait_for_function("window.__usableAt !== undefined")
    return page


class NetworkLog:
    """The requests of one page load from the DevTools protocol: which reached the server, what they
    weighed, and which request each waited on (the page for what it names, a module for its imports)."""

    def __init__(self) -> None:
        self.page = ""  # the page's own request id
        self.urls: dict[str, str] = {}  # request id → URL
        self.waited_on: dict[str, str] = {}  # request id → the id of the request it waited on
        self.cached: set[str] = set()
        self.bytes: dict[str, int] = {}

    def sent(self, event: dict[str, Any]) -> None:
        request_id, url = event["requestId"], event["request"]["url"]
        if request_id in self.urls:
            return  # a redirect keeps the id of the request it answers
        if not self.page:
            self.page = request_id
        initiator = event.get("initiator", {})
        by_url = {seen: seen_id for seen_id, seen in self.urls.items()}
        self.waited_on[request_id] = by_url.get(initiator.get("url") or "", self.page)
        self.urls[request_id] = url

    def received(self, event: dict[str, Any]) -> None:
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache") or response.get("fromServiceWorker"):
            self.cached.add(event["requestId"])

    def finished(self, event: dict[str, Any]) -> None:
        self.bytes[event["requestId"]] = int(event.get("encodedDataLength", 0))

    def served_from_cache(self, event: dict[str, Any]) -> None:
        self.cached.add(event["requestId"])

    def load(self, usable_ms: float) -> Load:
        """The figures of the page and its static files; what reached the server, the longest chain of it."""
        counted = [
            request_id
            for request_id, url in self.urls.items()
            if (request_id == self.page or "/static/" in url) and request_id not in self.cached
        ]
        depth: dict[str, int] = {}

        def depth_of(request_id: str) -> int:
            if request_id not in depth:
                before = self.waited_on[request_id]
                depth[request_id] = (request_id in counted) + (depth_of(before) if request_id != self.page else 0)
            return depth[request_id]

        trips = max((depth_of(request_id) for request_id in counted), default=0)
        return Load(sum(self.bytes.get(request_id, 0) for request_id in counted), len(counted), trips, usable_ms)


async def load(page: Page, url: str) -> Load:
    """Load `url` in `page` with the added latency; measure it until the page is usable."""
    cdp = await page.context.new_cdp_session(page)
    log = NetworkLog()
    cdp.on("Network.requestWillBeSent", log.sent)
    cdp.on("Network.responseReceived", log.received)
    cdp.on("Network.loadingFinished", log.finished)
    cdp.on("Network.requestServedFromCache", log.served_from_cache)
    await cdp.send("Network.enable")
    conditions = {"offline": False, "latency": ADDED_LATENCY_MS, "downloadThroughput": -1, "uploadThroughput": -1}
    await cdp.send("Network.emulateNetworkConditions", conditions)
    await page.goto(url)
    usable = float(await (await page.wait_for_function("window.__usableAt", polling=50)).json_value())
    await page.wait_for_load_state("networkidle")
    await cdp.detach()
    return log.load(usable)


async def first_loads(browser: Browser, url: str) -> tuple[Load, Load]:
    """The first load with an empty cache, then the page again in the same browser."""
    context = await new_context(browser)
    try:
        page = await context.new_page()
        cold = await load(page, url)
        warm = await load(page, url)
    finally:
        await context.close()
    return cold, warm


async def measure_page(rounds: int = 3) -> PageRun:
    load_average = os.getloadavg()[0]
    text = long_markdown()
    simulator = Simulator(token_delay=TOKEN_DELAY)
    figures: list[Figures] = []
    hard: list[str] = []
    frozen = False
    async with chat_server(simulator) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            cold, warm = await first_loads(browser, url)
            for round_ in range(1, rounds + 1):
                page = await fresh_page(browser, url)
                figures.append(await answer(page, simulator, text, f"Write a long answer ({round_})"))
                tables = await page.locator(f"{ANSWER_BODY} table").count()
                frozen |= tables != text.count("| Event |")
                await page.context.close()
            simulator.token_delay = 0.0
            for name, hard_text in (("200,000-character word", LONG_WORD), ("500-level nested list", NESTED_LIST)):
                page = await fresh_page(browser, url)
                try:
                    streamed = await answer(page, simulator, hard_text, f"Something hard: {name}", HARD_TIMEOUT_MS)
                    again = await reload(page, HARD_TIMEOUT_MS)
                except PlaywrightTimeoutError:
                    frozen = True
                    hard.append(f"{name}: not drawn within {HARD_TIMEOUT_MS // 1000} s: the tab is frozen")
                else:
                    hard.append(
                        f"{name}: streamed in {streamed.seconds:.1f} s, longest task {streamed.longest:.0f} ms; "
                        f"drawn again on reload in {again.seconds:.2f} s, longest task {again.longest:.0f} ms"
                    )
                await page.context.close()
        finally:
            await browser.close()
    return PageRun(text, figures, cold, warm, hard, frozen, load_average)


ANSWER_BODY = "#messages > article.message-assistant:last-child .message-body"


def _kib(count: int) -> str:
    return f"{count / 1024:,.1f} KiB"


def page_text(run: PageRun) -> str:
    """The page's lines in the report, each figure against its goal."""
    lines = [
        f"page, first load with {ADDED_LATENCY_MS} ms added to each request: "
        f"cold {_kib(run.cold.bytes)} in {run.cold.requests} requests, {run.cold.round_trips} round trips "
        f"(goal <= {ROUND_TRIPS_GOAL}), usable after {run.cold.usable_ms:,.0f} ms; "
        f"warm {_kib(run.warm.bytes)} in {run.warm.requests} requests, {run.warm.round_trips} round trips, "
        f"usable after {run.warm.usable_ms:,.0f} ms",
        f"page, a {len(tokens(run.text)):,}-token markdown answer ({len(run.text):,} characters) streamed at "
        f"{1 / TOKEN_DELAY:.0f} tokens/s, {len(run.rounds)} rounds (load average {run.load_average:.1f} on "
        f"{os.cpu_count()} cores before the run: others' work stretches the rounds and their tasks):",
    ]
    for number, figures in enumerate(run.rounds, 1):
        over = sum(duration > LONG_TASK_MS for duration in figures.long_tasks)
        lines.append(
            f"  round {number}: {figures.seconds:.1f} s, main thread busy {figures.busy_share:.1%} "
            f"({figures.busy_seconds:.1f} s), tasks over {LONG_TASK_MS} ms: {over}"
            + (f", longest {figures.longest:.0f} ms" if over else "")
        )
    longest = f"none over {LONG_TASK_MS}" if run.longest_task <= LONG_TASK_MS else f"{run.longest_task:.0f}"
    lines.append(
        f"main thread busy while it streams: {run.busy_share:.1%} (median; goal <= {BUSY_GOAL:.0%}); "
        f"longest task: {longest} ms (goal <= {LONG_TASK_MS})"
    )
    lines.extend(run.hard)
    return "\n".join(lines)


def page_verdicts(run: PageRun) -> list[tuple[bool, str]]:
    return [
        (run.busy_share <= BUSY_GOAL, f"page main thread busy {run.busy_share:.1%} <= {BUSY_GOAL:.0%}"),
        (run.longest_task <= LONG_TASK_MS, f"page tasks <= {LONG_TASK_MS} ms"),
        (run.cold.round_trips <= ROUND_TRIPS_GOAL, f"page first load in <= {ROUND_TRIPS_GOAL} round trips"),
        (run.warm.requests <= 1, "page warm load: only the page itself from the network, its files from the cache"),
        (not run.frozen, "page draws every answer whole, the hard ones in time"),
    ]


async def run(rounds: int) -> int:
    page_run = await measure_page(rounds)
    print(page_text(page_run))
    verdicts = page_verdicts(page_run)
    for met, goal in verdicts:
        print(f"{'met' if met else 'NOT MET'}: {goal}")
    return 0 if all(met for met, _ in verdicts) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="how many times the long answer streams")
    sys.exit(asyncio.run(run(parser.parse_args().rounds)))


if __name__ == "__main__":
    main()
