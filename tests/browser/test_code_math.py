"""Code coloured by highlight.js, formulas typeset by KaTeX as MathML, links that show their real host:
each loaded only when an answer needs it, all under the strict CSP (the `open_chat` fixture fails on
any violation), and pictures of it in test-output/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from chat.simulator import Simulator

from .pages import PHONE, ChatPage, OpenChat, ask

LONG_LINE = "print(" + " + ".join(f"value_{number}" for number in range(60)) + ")"
CODE_AND_MATH = f"""## Mean and spread

The mean is $\\bar x = \\frac{{1}}{{n}}\\sum_{{i=1}}^{{n}} x_i$ and the variance is \\(\\sigma^2\\).

$$
\\int_0^1 x^2 \\, dx = \\frac{{1}}{{3}}
$$

\\[e^{{i\\pi}} + 1 = 0\\]

The book costs $5 and the course $10, so $15 in all.

It costs $5. The mean is $\\bar x$.

```python
def mean(values: list[float]) -> float:
    # the arithmetic mean
    return sum(values) / len(values)

{LONG_LINE}
```

```js
const total = values.reduce((sum, value) => sum + value, 0);
```

| Symbol | Meaning |
|---|---|
| $n$ | how many values |
| $x_i$ | the values |
"""

QUESTION = "Explain the mean"
MODULES = "performance.getEntriesByType('resource').map(entry => new URL(entry.name).pathname)"


async def loaded_modules(chat: ChatPage) -> list[str]:
    return [path for path in await chat.page.evaluate(MODULES) if "/vendor/" in path]


async def test_code_is_coloured_and_math_typeset_only_once_an_answer_needs_them(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url, permissions=["clipboard-read", "clipboard-write"])
    await ask(chat, simulator, "Say hello", "Plain words, a price of $5, nothing else.")
    loaded = await loaded_modules(chat)
    assert not [path for path in loaded if "highlight" in path or "katex" in path], loaded

    await ask(chat, simulator, QUESTION, CODE_AND_MATH)
    body = chat.answer_body()
    python = body.locator("pre code.language-python")
    await expect(python).to_have_class("language-python hljs")
    await expect(python.locator(".hljs-keyword").first).to_have_text("def")
    await expect(python.locator(".hljs-comment")).to_have_text("# the arithmetic mean")
    await expect(body.locator("pre code.language-js .hljs-keyword").first).to_have_text("const")
    assert [path for path in await loaded_modules(chat) if path.endswith(("highlight.min.js", "katex.min.js"))]

    # Formulas: MathML, inline and displayed, in the text and in table cells.
    await expect(body.locator(".math-inline math")).to_have_count(5)
    await expect(body.locator(".math-display math[display='block']")).to_have_count(2)
    assert await body.locator("math annotation").first.text_content() == "\\bar x = \\frac{1}{n}\\sum_{i=1}^{n} x_i"
    await expect(body.locator("math [href], math [style]")).to_have_count(0)
    # Prices stay prose.
    prices = body.locator("p", has_text="The book costs")
    await expect(prices).to_have_text("The book costs $5 and the course $10, so $15 in all.")
    await expect(prices.locator("math, .math-inline")).to_have_count(0)
    # A price before a formula: the price stays prose, the formula is typeset.
    price_then_formula = body.locator("p", has_text="It costs")
    await expect(price_then_formula.locator(".math-inline math")).to_have_count(1)
    await expect(price_then_formula.locator("code")).to_have_count(0)
    assert await price_then_formula.evaluate("node => node.firstChild.textContent") == "It costs $5. The mean is "
    assert await price_then_formula.locator("annotation").text_content() == "\\bar x"

    # Copy gives the code as written, not the colouring.
    copy = body.locator(".code-block").first.get_by_role("button", name="Copy code")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    copied = await chat.page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("def mean(values: list[float]) -> float:\n") and LONG_LINE in copied

    # The same answer drawn again from storage is coloured and typeset too.
    await chat.page.reload()
    await expect(chat.answer_body().locator("pre code.language-python .hljs-keyword").first).to_have_text("def")
    await expect(chat.answer_body().locator(".math-display math")).to_have_count(2)


async def test_wide_code_and_tables_scroll_by_keyboard(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url, viewport={"width": 700, "height": 800})
    wide_table = (
        "| "
        + " | ".join(f"Column {n}" for n in range(14))
        + " |\n|"
        + "---|" * 14
        + "\n| "
        + " | ".join(f"value {n}" for n in range(14))
        + " |\n"
    )
    await ask(chat, simulator, QUESTION, CODE_AND_MATH + "\n" + wide_table)
    body = chat.answer_body()
    code = body.get_by_role("group", name="Code, python")
    table = body.get_by_role("group", name="Table: Column 0, Column 1, Column 2")
    for box in (code, table):
        await expect(box).to_have_attribute("tabindex", "0")
        assert await box.evaluate("node => node.scrollWidth > node.clientWidth")  # it does scroll
        await box.focus()
        await expect(box).to_be_focused()
        assert await box.evaluate("node => node.scrollLeft") == 0
        await chat.page.keyboard.press("ArrowRight")
        await chat.page.wait_for_function("node => node.scrollLeft > 0", arg=await box.element_handle())
    # The cue that there is more to the right: a shadow drawn at the box's edge.
    background = await code.evaluate("node => getComputedStyle(node).backgroundImage")
    assert "radial-gradient" in background


async def test_links_show_their_real_host(open_chat: OpenChat, chat_url: str, simulator: Simulator) -> None:
    chat = await open_chat(chat_url)
    await ask(
        chat,
        simulator,
        "Where do I log in?",
        "Log in at [https://bank.example](https://evil.example/steal?d=secret).\n\n"
        "See [the docs](https://docs.example.org/guide), [example.com](https://example.com/x) "
        "and https://plain.example/path.",
    )
    body = chat.answer_body()
    bait = body.get_by_role("link", name="https://bank.example (evil.example)")
    await expect(bait).to_have_attribute("href", "https://evil.example/steal?d=secret")
    await expect(bait).to_have_attribute("rel", "noopener noreferrer")
    await expect(bait).to_have_attribute("target", "_blank")
    await expect(bait.locator(".link-host")).to_have_text(" (evil.example)")
    await expect(body.get_by_role("link", name="the docs (docs.example.org)")).to_be_visible()
    # Text that already names the host gets nothing more.
    for name in ("example.com", "https://plain.example/path"):
        await expect(body.get_by_role("link", name=name, exact=True).locator(".link-host")).to_have_count(0)


SHOTS: dict[str, dict[str, Any]] = {
    "answer-code-math": {"viewport": {"width": 1100, "height": 1000}},
    "answer-code-math-dark": {"viewport": {"width": 1100, "height": 1000}, "color_scheme": "dark"},
    "answer-code-math-phone": PHONE,
}


@pytest.mark.parametrize("name", SHOTS)
async def test_screenshot_code_and_math(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, output_dir: Path, name: str
) -> None:
    chat = await open_chat(chat_url, reduced_motion="reduce", **SHOTS[name])
    await ask(chat, simulator, QUESTION, CODE_AND_MATH)
    body = chat.answer_body()
    await expect(body.locator("pre code.language-js.hljs")).to_have_count(1)
    await expect(body.locator(".math-typeset")).to_have_count(7)
    await chat.page.locator("#messages-scroller").evaluate("scroller => { scroller.scrollTop = 0; }")
    if "phone" in name:
        assert await chat.page.evaluate("document.documentElement.scrollWidth") <= 390
    path = output_dir / f"{name}.png"
    await chat.page.screenshot(path=path)
    assert path.stat().st_size > 10_000
