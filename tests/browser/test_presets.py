"""A preset in /embed: its title, welcome text and suggested prompts; and the page for a preset
the person's groups may not use."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from playwright.async_api import Browser, expect
from pytest_aiohttp import AiohttpServer

from chat import Settings, create_app
from chat.simulator import Simulator

from .pages import OpenChat, within

PRESETS = """
[presets.helpdesk]
title = "Helpdesk assistant"
welcome = "Ask about accounts, printers and the VPN."
prompts = ["Reset my password", "Set up the VPN"]
system_prompt = "You answer IT helpdesk questions only."

[presets.payroll]
title = "Payroll"
groups = ["finance"]
"""


async def test_a_preset_shows_its_title_welcome_and_prompts_and_a_closed_one_says_so(
    open_chat: OpenChat, browser: Browser, aiohttp_server: AiohttpServer, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "presets.toml"
    path.write_text(PRESETS)
    server = await aiohttp_server(create_app(dataclasses.replace(settings, presets_file=str(path))))

    chat = await open_chat(str(server.make_url("/embed?preset=helpdesk")))
    page = chat.page
    await expect(page.locator("body")).to_have_attribute("data-preset", "helpdesk")
    await expect(page.locator("#preset-title")).to_have_text("Helpdesk assistant")
    await expect(page.locator("#preset-welcome")).to_have_text("Ask about accounts, printers and the VPN.")
    await expect(page.locator("#suggested-prompts button")).to_have_text(["Reset my password", "Set up the VPN"])

    context = await browser.new_context()
    try:
        closed = await context.new_page()
        response = await closed.goto(str(server.make_url("/embed?preset=payroll")))
        assert response is not None and response.status == 403
        await expect(closed.locator("h1")).to_have_text("Not open to you")
        await expect(closed.locator("#refusal-message")).to_contain_text("The preset 'payroll' is not open to you.")
    finally:
        await context.close()


async def test_a_suggested_prompt_asks_and_the_conversation_keeps_its_preset(
    open_chat: OpenChat, aiohttp_server: AiohttpServer, settings: Settings, simulator: Simulator, tmp_path: Path
) -> None:
    path = tmp_path / "presets.toml"
    path.write_text(PRESETS)
    server = await aiohttp_server(create_app(dataclasses.replace(settings, presets_file=str(path))))
    chat = await open_chat(str(server.make_url("/?preset=helpdesk")))
    simulator.script("Use the reset link.")
    await chat.page.get_by_role("button", name="Reset my password").click()
    record = await within(simulator.next_request())
    await chat.wait_done()
    assert record.body["messages"][0] == {"role": "system", "content": "You answer IT helpdesk questions only."}
    assert record.body["messages"][-1] == {"role": "user", "content": "Reset my password"}
    # After a reload, a follow-up in the same conversation is still the preset's.
    await chat.page.reload()
    await expect(chat.answers.last).to_contain_text("Use the reset link.")
    await chat.send("And the VPN?")
    record = await within(simulator.next_request())
    await chat.wait_done()
    assert record.body["messages"][0]["content"] == "You answer IT helpdesk questions only."
