"""Phones and small embeds, 320 to 420 px wide: in every state (a preset's prompts, a long title, two
models, the ⋯ menu open, the list open, a rename) the page never scrolls sideways, every control lies
on the screen where a tap lands on it, and each is at least 44 px each way. Screenshots of each width
are left in test-output/ to be looked at."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from pytest_aiohttp import AiohttpServer

from chat import Settings, create_app
from chat.simulator import Simulator

from .pages import MARKDOWN_ANSWER, ChatPage, OpenChat, ask
from .test_accessibility import axe_violations

WIDTHS = [320, 360, 390, 420]
TAP = 44  # px, WCAG 2.5.5's target size

PRESETS = """
[presets.helpdesk]
title = "Helpdesk assistant"
welcome = "Ask about accounts, printers and the VPN."
prompts = ["Reset my password", "Set up the VPN on a laptop that is not mine", "Printer"]
deployments = ["gpt-test", "gpt-test-with-a-long-name"]
"""
LONG_QUESTION = "Why does the relay of the streaming chat server close its upstream connection at once on Stop?"
LONG_WORD = "https://example.com/" + "a-very-long-path-segment-" * 8

# What a person could scroll sideways, and each visible control that is off the screen, covered where it
# would be tapped, or smaller than a fingertip. Controls in a closed part of the page (hidden, inert,
# under the open list's overlay) are not the person's to tap and are left out by `within`.
LAYOUT_PROBLEMS = """([within, tap]) => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  const named = (node) => `${node.tagName.toLowerCase()}#${node.id}.${node.className}`;
  const parts = ".layout, .chat, .topbar, .sidebar, .messages-scroller, .message-list, .composer-area, .empty-state";
  for (const node of [document.documentElement, document.body, ...document.querySelectorAll(parts)]) {
    if (node.checkVisibility() && node.scrollWidth > node.clientWidth + 1) {
      problems.push(`${named(node)}: ${node.scrollWidth} px wide in ${node.clientWidth}`);
    }
  }
  if (window.scrollX !== 0) problems.push(`page scrolled ${window.scrollX} px sideways`);
  const scope = document.querySelector(within);
  const kinds = "button, select, summary, textarea, input:not([type=file]), [tabindex='0']";
  for (const control of scope.querySelectorAll(kinds)) {
    if (!control.checkVisibility({ visibilityProperty: true }) || control.disabled) continue;
    if (control.closest("[inert], .visually-hidden, .skip-link")) continue;
    const text = (control.textContent || control.getAttribute("aria-label") || "").trim().slice(0, 30);
    const name = `${named(control)} "${text}"`;
    control.scrollIntoView({ block: "nearest", inline: "nearest" });
    const box = control.getBoundingClientRect();
    if (box.left < -0.5 || box.right > width + 0.5) {
      problems.push(`${name}: ${Math.round(box.left)}..${Math.round(box.right)} px, off the screen`);
    }
    if (box.width < tap - 0.5 || box.height < tap - 0.5) {
      problems.push(`${name}: ${Math.round(box.width)}x${Math.round(box.height)} px`);
    }
    const hit = document.elementFromPoint(Math.min(Math.max(box.left + box.width / 2, 0), width - 1),
                                          box.top + box.height / 2);
    const labels = [...(control.labels ?? [])];
    if (!hit || !(control.contains(hit) || labels.some((label) => label.contains(hit)))) {
      problems.push(`${name}: a tap at its middle lands on ${hit ? named(hit) : "nothing"}`);
    }
  }
  return problems;
}"""


async def assert_fits(chat: ChatPage, state: str, within: str = "body") -> None:
    problems: list[str] = await chat.page.evaluate(LAYOUT_PROBLEMS, [within, TAP])
    assert not problems, f"{state}:\n" + "\n".join(sorted(problems))


@pytest.fixture
def presets_settings(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "presets.toml"
    path.write_text(PRESETS)
    return dataclasses.replace(settings, deployments=("gpt-test", "gpt-test-with-a-long-name"), presets_file=str(path))


def phone(width: int, **options: Any) -> dict[str, Any]:
    return {
        "viewport": {"width": width, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    } | options


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", ["/?preset=helpdesk", "/embed?preset=helpdesk"], ids=["page", "embed"])
async def test_every_state_fits_a_narrow_screen(
    open_chat: OpenChat,
    aiohttp_server: AiohttpServer,
    presets_settings: Settings,
    simulator: Simulator,
    output_dir: Path,
    width: int,
    path: str,
) -> None:
    server = await aiohttp_server(create_app(presets_settings))
    chat = await open_chat(str(server.make_url(path)), **phone(width))
    page = chat.page
    name = f"narrow-{path.split('?')[0].strip('/') or 'page'}-{width}"

    await expect(page.locator("#suggested-prompts button")).to_have_count(3)
    await assert_fits(chat, "a preset's prompts")
    await page.screenshot(path=output_dir / f"{name}-empty.png")

    await ask(chat, simulator, LONG_QUESTION, MARKDOWN_ANSWER + f"\n\nSee {LONG_WORD} and `{LONG_WORD}`.\n")
    title = page.locator("#conversation-title")
    assert (await title.bounding_box() or {"width": 0})["width"] >= 96, "the title keeps room to be read"
    await assert_fits(chat, "after an answer, with a long title and two models")
    await page.screenshot(path=output_dir / f"{name}-answer.png")

    await page.locator("#conversation-menu summary").tap()
    await expect(page.locator("#conversation-menu .menu-items")).to_be_visible()
    await assert_fits(chat, "the ⋯ menu open", "#conversation-menu")
    await page.screenshot(path=output_dir / f"{name}-menu.png")
    await page.get_by_role("button", name="Rename").tap()
    await expect(page.locator("#rename-input")).to_be_focused()
    await assert_fits(chat, "renaming")
    await page.locator("#rename-input").press("Escape")

    await page.locator("#sidebar-toggle").tap()
    await expect(page.locator("#sidebar")).to_be_visible()
    await page.locator("#history-tools summary").tap()
    await assert_fits(chat, "the list open, its menu too", "#sidebar")
    await page.screenshot(path=output_dir / f"{name}-list.png")


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [320, 420, 1280])
async def test_axe_finds_nothing_in_the_bar_its_menu_and_the_list(
    open_chat: OpenChat,
    aiohttp_server: AiohttpServer,
    presets_settings: Settings,
    simulator: Simulator,
    width: int,
    color_scheme: str,
) -> None:
    server = await aiohttp_server(create_app(presets_settings))
    options = phone(width) if width < 760 else {"viewport": {"width": width, "height": 800}}
    chat = await open_chat(
        str(server.make_url("/?preset=helpdesk")), bypass_csp=True, color_scheme=color_scheme, **options
    )
    page = chat.page
    assert await axe_violations(page) == [], "a preset's prompts"
    await ask(chat, simulator, LONG_QUESTION, "An answer.")
    await page.locator("#conversation-menu summary").click()
    assert await axe_violations(page) == [], "the ⋯ menu open"
    await page.keyboard.press("Escape")
    if width < 760:
        await page.locator("#sidebar-toggle").click()
        await expect(page.locator("#sidebar")).to_be_visible()
    await page.locator("#history-tools summary").click()
    assert await axe_violations(page) == [], "the list and its menu open"


@pytest.mark.parametrize("path", ["/", "/embed"], ids=["page", "embed"])
async def test_the_open_list_is_a_modal_dialog_that_gives_focus_back(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, path: str
) -> None:
    chat = await open_chat(chat_url + path.lstrip("/"), viewport={"width": 390, "height": 740})
    page = chat.page
    await ask(chat, simulator, "First question", "An answer.")
    sidebar, toggle, main = page.locator("#sidebar"), page.locator("#sidebar-toggle"), page.locator("#chat")
    await toggle.click()
    await expect(sidebar).to_be_visible()
    await expect(sidebar).to_have_attribute("role", "dialog")
    await expect(sidebar).to_have_attribute("aria-modal", "true")
    await expect(page.get_by_role("dialog", name="Conversations")).to_be_visible()
    await expect(main).to_have_attribute("inert", "")
    inside = "() => document.activeElement === document.body || document.activeElement.closest('#sidebar') !== null"
    for _ in range(12):  # round the whole list and past its end: never under the dimmed chat
        await page.keyboard.press("Tab")
        assert await page.evaluate(inside), await page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
    await page.keyboard.press("Escape")
    await expect(sidebar).to_be_hidden()
    await expect(toggle).to_be_focused()
    await expect(main).not_to_have_attribute("inert", "")

    await toggle.click()
    await expect(sidebar).to_be_visible()
    await page.mouse.click(370, 400)  # on the dimmed chat beside the list
    await expect(sidebar).to_be_hidden()
    await expect(toggle).to_be_focused()
    await expect(main).not_to_have_attribute("inert", "")

    await toggle.click()  # a conversation chosen in the list: the list closes, focus on its toggle
    await page.locator("#conversation-list [data-action='open']").first.click()
    await expect(sidebar).to_be_hidden()
    await expect(toggle).to_be_focused()
    await chat.send("Still there?")  # the chat takes typing again
    await chat.wait_done()
