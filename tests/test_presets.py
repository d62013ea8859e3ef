"""Presets from CHAT_PRESETS_FILE: what the page shows, what the API applies, and who may use them."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from chat import Settings, SettingsError, create_app
from chat.access.client_access import MAX_GROUPS, proxied_groups
from chat.simulator import Simulator

from .sse_client import chat_body, read_events, text_of
from .typedefs import ClientFactory, StartUp

PRESETS = """
[presets.helpdesk]
title = "Helpdesk assistant"
welcome = "Ask about accounts, printers & the VPN."
prompts = ["Reset my password", "Set up the VPN"]
system_prompt = "You answer IT helpdesk questions only."
deployments = ["o3", "gpt-test"]
max_tokens = 500
reasoning_effort = "high"

[presets.payroll]
title = "Payroll"
groups = ["finance"]

[presets.open]
title = "Open"

[deployment_groups]
o3 = ["research", "support"]

[user_groups]
ada = ["finance"]
"token:ci" = ["research"]
"""
PASSWORD = "a-long-enough-password"
TOKEN = "a-token-of-enough-characters"


@pytest.fixture
def presets_file(tmp_path: Path) -> str:
    path = tmp_path / "presets.toml"
    path.write_text(PRESETS)
    return str(path)


@pytest.fixture
def with_presets(settings: Settings, presets_file: str, simulator: Simulator) -> Settings:
    simulator.profiles = {"o3": "reasoning", "gpt-test": "gpt-4o"}
    return dataclasses.replace(settings, deployments=("gpt-test", "o3"), presets_file=presets_file)


@pytest.fixture
def make_preset_client(make_client: ClientFactory, with_presets: Settings) -> ClientFactory:
    async def make(**changes: Any) -> Any:
        return await make_client(
            **{"deployments": with_presets.deployments, "presets_file": with_presets.presets_file, **changes}
        )

    return make


def basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}


async def error_code(response: Any) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


async def test_a_preset_applies_its_locked_prompt_deployments_ceiling_and_effort(
    make_preset_client: ClientFactory, simulator: Simulator
) -> None:
    client = await make_preset_client(trusted_groups_header="X-Forwarded-Groups", trusted_proxies=("127.0.0.1",))
    support = {"X-Forwarded-Groups": "support"}
    response = await client.post("/api/chat", json={**chat_body("hi"), "preset": "helpdesk"}, headers=support)
    events, _ = await read_events(response)
    assert events[-1].name == "done"
    body = simulator.requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": "You answer IT helpdesk questions only."}
    assert body["model"] == "o3"  # the preset's first deployment is its default
    assert body["max_completion_tokens"] == 500  # the ceiling is also sent when none is asked for
    assert body["reasoning_effort"] == "high"

    own_system = {"messages": [{"role": "system", "content": "Be a pirate."}, *chat_body()["messages"]]}
    assert await error_code(await client.post("/api/chat", json={**own_system, "preset": "helpdesk"})) == (
        400,
        "system_prompt_locked",
    )
    too_many = {**chat_body(), "preset": "helpdesk", "max_completion_tokens": 501}
    assert await error_code(await client.post("/api/chat", json=too_many)) == (400, "max_tokens_too_large")
    # Without a preset, the server's own set-up: a client's system message is still welcome.
    events, _ = await read_events(await client.post("/api/chat", json=own_system))
    assert simulator.requests[-1].body["messages"][0]["content"] == "Be a pirate."


async def test_a_preset_offers_only_its_deployments(make_client: ClientFactory, with_presets: Settings) -> None:
    client = await make_client(deployments=("gpt-test", "o3", "other"), presets_file=with_presets.presets_file)
    body = {**chat_body(), "preset": "helpdesk", "deployment": "other"}
    assert await error_code(await client.post("/api/chat", json=body)) == (400, "unknown_deployment")
    page = await (await client.get("/embed?preset=helpdesk")).text()
    assert '<option value="other">' not in page
    assert '<option value="other">' in await (await client.get("/embed")).text()


@pytest.mark.parametrize("preset", ["nope", 7, "../x"], ids=["unknown", "not-text", "path"])
async def test_an_unknown_preset_is_refused_by_the_api(make_preset_client: ClientFactory, preset: object) -> None:
    client = await make_preset_client()
    response = await client.post("/api/chat", json={**chat_body(), "preset": preset})
    assert await error_code(response) == (400, "unknown_preset")


@pytest.mark.parametrize("path", ["/embed?preset=nope", "/?preset=nope"])
async def test_an_unknown_preset_is_a_404_page(make_preset_client: ClientFactory, path: str) -> None:
    client = await make_preset_client()
    response = await client.get(path)
    assert response.status == 404
    assert response.content_type == "text/html"
    assert "Unknown preset &#39;nope&#39;" in await response.text()
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_page_shows_the_preset(make_preset_client: ClientFactory) -> None:
    client = await make_preset_client(trusted_groups_header="X-Forwarded-Groups", trusted_proxies=("127.0.0.1",))
    response = await client.get("/embed?preset=helpdesk", headers={"X-Forwarded-Groups": "support"})
    page = await response.text()
    assert response.status == 200
    assert 'data-preset="helpdesk"' in page
    assert "<title>Helpdesk assistant</title>" in page
    assert "Ask about accounts, printers &amp; the VPN." in page
    assert page.count('class="suggested-prompt"') == 2 and 'data-prompt="Reset my password"' in page
    assert '<option value="o3">' in page and '<option value="gpt-test">' in page
    plain = await (await client.get("/embed")).text()
    assert "data-preset" not in plain and "<title>Chat</title>" in plain


async def test_a_mounted_app_with_a_default_preset(
    aiohttp_client: AiohttpClient, with_presets: Settings, simulator: Simulator
) -> None:
    host = web.Application()
    host.add_subapp("/help/", create_app(with_presets, preset="helpdesk"))
    client = await aiohttp_client(host)
    page = await (await client.get("/help/embed")).text()
    assert 'data-preset="helpdesk"' in page and "Helpdesk assistant" in page
    # The deployment o3 is for some groups only: the preset's other deployment is its default here.
    assert '<option value="o3">' not in page
    events, _ = await read_events(await client.post("/help/api/chat", json=chat_body("mounted?")))
    assert text_of(events).startswith("You asked: *mounted?*")
    assert simulator.requests[-1].body["messages"][0]["content"] == "You answer IT helpdesk questions only."
    assert simulator.requests[-1].body["model"] == "gpt-test"


async def test_a_default_preset_is_not_a_boundary(make_preset_client: ClientFactory, simulator: Simulator) -> None:
    """Without pinning, a default is only what a request gets when it names none: it may name another."""
    client = await make_preset_client(default_preset="helpdesk")
    own_system = {"messages": [{"role": "system", "content": "Be a pirate."}, *chat_body()["messages"]]}
    assert (await client.post("/api/chat", json={**own_system, "preset": "open"})).status == 200
    assert simulator.requests[-1].body["messages"][0]["content"] == "Be a pirate."
    assert 'data-preset="open"' in await (await client.get("/embed?preset=open")).text()


async def assert_pinned_to_helpdesk(client: Any, simulator: Simulator, prefix: str = "") -> None:
    """The attack: name another preset (or none, or one that does not exist) to leave the locked
    system prompt, the ceiling and the groups of the preset the chat is pinned to."""
    own_system = {"messages": [{"role": "system", "content": "Be a pirate."}, *chat_body()["messages"]]}
    for other in ("open", "payroll", "nope"):
        escape = {**own_system, "preset": other, "max_completion_tokens": 5000}
        assert await error_code(await client.post(f"{prefix}/api/chat", json=escape)) == (403, "forbidden_preset")
        for page in ("embed", ""):
            refused = await client.get(f"{prefix}/{page}?preset={other}")
            assert refused.status == 403 and refused.content_type == "text/html", (page, other)
            text = await refused.text()
            assert "not open to you" in text and "data-preset" not in text
    assert await error_code(await client.post(f"{prefix}/api/chat", json=own_system)) == (400, "system_prompt_locked")
    too_many = {**chat_body(), "max_completion_tokens": 501}
    assert await error_code(await client.post(f"{prefix}/api/chat", json=too_many)) == (400, "max_tokens_too_large")
    for named in ({}, {"preset": "helpdesk"}):
        events, _ = await read_events(await client.post(f"{prefix}/api/chat", json={**chat_body(), **named}))
        assert events[-1].name == "done"
        assert simulator.requests[-1].body["messages"][0]["content"] == "You answer IT helpdesk questions only."
    assert 'data-preset="helpdesk"' in await (await client.get(f"{prefix}/embed?preset=helpdesk")).text()
    assert 'data-preset="helpdesk"' in await (await client.get(f"{prefix}/embed")).text()


async def test_presets_allowed_pins_the_api_and_the_pages(
    make_preset_client: ClientFactory, simulator: Simulator
) -> None:
    client = await make_preset_client(default_preset="helpdesk", presets_allowed=("helpdesk",))
    await assert_pinned_to_helpdesk(client, simulator)


async def test_presets_allowed_without_a_default_gives_the_first(
    make_preset_client: ClientFactory, simulator: Simulator
) -> None:
    client = await make_preset_client(presets_allowed=("helpdesk", "open"), basic_auth=(("ada", PASSWORD),))
    ada = basic("ada")  # in the group of payroll, which this chat does not allow
    await (await client.post("/api/chat", json=chat_body(), headers=ada)).read()
    assert simulator.requests[-1].body["messages"][0]["content"] == "You answer IT helpdesk questions only."
    assert 'data-preset="helpdesk"' in await (await client.get("/", headers=ada)).text()
    assert (await client.post("/api/chat", json={**chat_body(), "preset": "open"}, headers=ada)).status == 200
    assert (await client.get("/embed?preset=open", headers=ada)).status == 200
    payroll = {**chat_body(), "preset": "payroll"}
    assert await error_code(await client.post("/api/chat", json=payroll, headers=ada)) == (403, "forbidden_preset")
    assert (await client.get("/embed?preset=payroll", headers=ada)).status == 403


@pytest.mark.parametrize("only", [None, True], ids=["by-default", "only"])
async def test_a_mounted_app_given_a_preset_is_pinned_to_it(
    aiohttp_client: AiohttpClient, with_presets: Settings, simulator: Simulator, only: bool | None
) -> None:
    host = web.Application()
    app = (
        create_app(with_presets, preset="helpdesk")
        if only is None
        else create_app(with_presets, preset="helpdesk", only=only)
    )
    host.add_subapp("/help/", app)
    await assert_pinned_to_helpdesk(await aiohttp_client(host), simulator, "/help")


async def test_a_mounted_app_may_keep_a_preset_as_a_default_only(
    aiohttp_client: AiohttpClient, with_presets: Settings
) -> None:
    host = web.Application()
    host.add_subapp("/help/", create_app(with_presets, preset="helpdesk", only=False))
    client = await aiohttp_client(host)
    assert 'data-preset="helpdesk"' in await (await client.get("/help/embed")).text()
    assert 'data-preset="open"' in await (await client.get("/help/embed?preset=open")).text()


def test_pinning_that_cannot_hold_stops_the_app(with_presets: Settings) -> None:
    with pytest.raises(SettingsError, match=r"^CHAT_PRESETS_ALLOWED names 'nope', which is not a preset"):
        dataclasses.replace(with_presets, presets_allowed=("helpdesk", "nope"))
    with pytest.raises(SettingsError, match=r"^CHAT_DEFAULT_PRESET names 'open', which is not among"):
        dataclasses.replace(with_presets, presets_allowed=("helpdesk",), default_preset="open")
    with pytest.raises(SettingsError, match="preset 'open' is not among CHAT_PRESETS_ALLOWED"):
        create_app(dataclasses.replace(with_presets, presets_allowed=("helpdesk",)), preset="open")
    with pytest.raises(SettingsError, match="only=True needs a preset"):
        create_app(with_presets, only=True)


async def test_a_default_preset_from_the_settings(make_preset_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_preset_client(default_preset="helpdesk")
    await (await client.post("/api/chat", json=chat_body())).read()
    assert simulator.requests[-1].body["messages"][0]["content"] == "You answer IT helpdesk questions only."
    assert 'data-preset="helpdesk"' in await (await client.get("/")).text()


def test_an_unknown_default_preset_stops_the_app(with_presets: Settings) -> None:
    with pytest.raises(SettingsError, match="preset 'nope'"):
        create_app(with_presets, preset="nope")
    with pytest.raises(SettingsError, match=r"^CHAT_DEFAULT_PRESET names 'nope'"):
        dataclasses.replace(with_presets, default_preset="nope")


async def test_proxy_groups_open_a_preset_and_a_deployment(make_preset_client: ClientFactory) -> None:
    client = await make_preset_client(trusted_groups_header="X-Forwarded-Groups", trusted_proxies=("127.0.0.1",))
    payroll = {**chat_body(), "preset": "payroll"}
    assert await error_code(await client.post("/api/chat", json=payroll)) == (403, "forbidden_preset")
    refused = await client.get("/embed?preset=payroll")
    assert refused.status == 403 and refused.content_type == "text/html"
    assert "not open to you" in await refused.text()
    assert refused.headers["X-Content-Type-Options"] == "nosniff"

    finance = {"X-Forwarded-Groups": "sales, finance"}
    assert (await client.post("/api/chat", json=payroll, headers=finance)).status == 200
    assert (await client.get("/embed?preset=payroll", headers=finance)).status == 200

    o3 = {**chat_body(), "deployment": "o3"}
    assert await error_code(await client.post("/api/chat", json=o3, headers=finance)) == (403, "forbidden_deployment")
    assert '<option value="o3">' not in await (await client.get("/", headers=finance)).text()
    research = {"X-Forwarded-Groups": "research"}
    assert (await client.post("/api/chat", json=o3, headers=research)).status == 200
    assert '<option value="o3">' in await (await client.get("/", headers=research)).text()


async def test_a_groups_header_from_an_untrusted_address_is_ignored(make_preset_client: ClientFactory) -> None:
    client = await make_preset_client(trusted_groups_header="X-Forwarded-Groups", trusted_proxies=("10.9.9.9",))
    forged = {"X-Forwarded-Groups": "finance,research"}
    payroll = {**chat_body(), "preset": "payroll"}
    assert await error_code(await client.post("/api/chat", json=payroll, headers=forged)) == (403, "forbidden_preset")
    assert (await client.get("/embed?preset=payroll", headers=forged)).status == 403
    o3 = {**chat_body(), "deployment": "o3"}
    assert await error_code(await client.post("/api/chat", json=o3, headers=forged)) == (403, "forbidden_deployment")


async def test_groups_of_users_and_named_tokens(make_preset_client: ClientFactory) -> None:
    client = await make_preset_client(basic_auth=(("ada", PASSWORD), ("bob", PASSWORD)), api_tokens=(f"ci={TOKEN}",))
    payroll = {**chat_body(), "preset": "payroll"}
    assert (await client.post("/api/chat", json=payroll, headers=basic("ada"))).status == 200
    assert (await client.get("/embed?preset=payroll", headers=basic("ada"))).status == 200
    assert await error_code(await client.post("/api/chat", json=payroll, headers=basic("bob"))) == (
        403,
        "forbidden_preset",
    )
    assert (await client.get("/embed?preset=payroll", headers=basic("bob"))).status == 403
    token = {"Authorization": f"Bearer {TOKEN}"}
    o3 = {**chat_body(), "deployment": "o3"}
    assert (await client.post("/api/chat", json=o3, headers=token)).status == 200
    assert await error_code(await client.post("/api/chat", json=o3, headers=basic("ada"))) == (
        403,
        "forbidden_deployment",
    )


def test_the_groups_header_is_capped_in_length_and_count() -> None:
    assert proxied_groups(" a, ,b ,") == ["a", "b"]
    assert len(proxied_groups(",".join(f"g{n}" for n in range(1000)))) == MAX_GROUPS
    assert proxied_groups("x" * 200 + ",ok") == ["ok"]
    assert proxied_groups("," * 10_000 + "late") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[presets.x\n", "is not valid TOML"),
        ('[presets.x]\ndeployments = ["gpt-5"]\n', "deployment 'gpt-5' is not among the deployments"),
        ('[presets.x]\ncolour = "red"\n', "unknown keys ['colour']"),
        ('[presets.x]\nprompts = ["a", "b", "c", "d", "e"]\n', "at most 4"),
        ('[presets.x]\nreasoning_effort = "max"\n', "`reasoning_effort` must be one of"),
        ("[presets.x]\nmax_tokens = 0\n", "`max_tokens` must be a whole number"),
        ('[presets.x]\ngroups = "support"\n', "groups must be a list"),
        ('[deployment_groups]\ngpt-5 = ["a"]\n', "deployment 'gpt-5'"),
        ('[user_groups]\n"ip:1.2.3.4" = ["a"]\n', "keys must be user names or token:NAME"),
        ('[presets."a b"]\n', "a preset's name"),
        ("[extra]\n", "unknown table 'extra'"),
    ],
    ids=[
        "toml",
        "deployment",
        "key",
        "prompts",
        "effort",
        "ceiling",
        "groups",
        "deployment-groups",
        "user",
        "name",
        "table",
    ],
)
def test_a_bad_presets_file_stops_start_up_with_one_line(
    start_up: StartUp, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    returncode, _, stderr = start_up(CHAT_PRESETS_FILE=str(path), AZURE_OPENAI_DEPLOYMENT="gpt-4o")
    assert returncode != 0
    assert stderr.strip().count("\n") == 0
    assert "CHAT_PRESETS_FILE" in stderr and message in stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHAT_PRESETS_FILE": "/nonexistent/presets.toml"}, "CHAT_PRESETS_FILE: cannot read"),
        ({"CHAT_DEFAULT_PRESET": "helpdesk"}, "CHAT_DEFAULT_PRESET names 'helpdesk'"),
        ({"CHAT_PRESETS_ALLOWED": "helpdesk"}, "CHAT_PRESETS_ALLOWED names 'helpdesk'"),
        ({"CHAT_TRUSTED_GROUPS_HEADER": "X-Forwarded-Groups"}, "CHAT_TRUSTED_GROUPS_HEADER needs CHAT_TRUSTED_PROXIES"),
    ],
    ids=["missing-file", "unknown-default", "unknown-allowed", "groups-without-proxies"],
)
def test_preset_settings_stop_start_up(start_up: StartUp, env: dict[str, str], message: str) -> None:
    returncode, _, stderr = start_up(**env)
    assert returncode != 0 and stderr.strip().count("\n") == 0
    assert message in stderr
