"""Identity headers through Debian's nginx running the project's recipe (deploy/nginx.conf): a
client's own user and groups headers never arrive, the recipe's CHAT_PROXY_SECRET line makes nginx
the only believed proxy on its address, and a gateway in front that writes `client-ip:port` leaves
every client itself."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chat import Settings, create_app
from chat.access.proxies import SECRET_HEADER

from .nginx_server import RECIPE, NginxServer
from .servers import running_server
from .sse_client import chat_body

pytestmark = pytest.mark.slow  # nginx as its own process

TOKEN = "a-token-of-enough-characters"
SECRET = "nginx0and0the0server0share0this0secret"
PRESETS = '[presets.secret]\ntitle = "Research only"\ngroups = ["research"]\n'


@contextlib.asynccontextmanager
async def behind_nginx(settings: Settings, directory: Path, **replaced: str) -> AsyncIterator[tuple[str, str]]:
    """The app on a loopback socket behind nginx: (nginx's URL, the app's own URL)."""
    async with running_server(create_app(settings)) as direct:
        nginx = NginxServer([int(direct.rpartition(":")[2])], directory, **replaced)
        nginx.start()
        try:
            yield nginx.url, direct
        finally:
            nginx.stop()


async def _get(url: str, **headers: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.text()


@pytest.fixture
def proxied(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "presets.toml").write_text(PRESETS)
    return dataclasses.replace(
        settings,
        trusted_proxies=("127.0.0.1",),
        trusted_user_header="Remote-User",  # as Authelia and Apache name it
        trusted_groups_header="X-Forwarded-Groups",
        api_tokens=(f"someone={TOKEN}",),  # a signed-in client in no group
        usage_admins=("ada",),
        presets_file=str(tmp_path / "presets.toml"),
    )


async def test_a_client_s_own_identity_headers_never_pass_the_recipe(proxied: Settings, tmp_path: Path) -> None:
    async with behind_nginx(proxied, tmp_path) as (url, _):
        # No credentials, a user header of its own: the admin's view of everyone's usage.
        assert (await _get(f"{url}/api/usage?scope=all", **{"Remote-User": "ada"}))[0] == 401
        # Signed in, in no group, a groups header of its own: the group's preset.
        signed_in = {"Authorization": f"Bearer {TOKEN}"}
        status, page = await _get(f"{url}/embed?preset=secret", **signed_in, **{"X-Forwarded-Groups": "research"})
        assert status == 403 and "Not open to you" in page
        assert (await _get(f"{url}/embed", **signed_in))[0] == 200


async def test_the_recipe_s_auth_request_lines_are_believed(proxied: Settings, tmp_path: Path) -> None:
    """A sign-in in front sets the headers instead of "" (here nginx sets them as auth_request_set would)."""
    lines = {"proxy_set_header Remote-User": '"ada"', "proxy_set_header X-Forwarded-Groups": '"research"'}
    async with behind_nginx(proxied, tmp_path, **lines) as (url, _):
        assert (await _get(f"{url}/api/usage?scope=all", **{"Remote-User": "mallory"}))[0] == 200
        assert (await _get(f"{url}/embed?preset=secret"))[0] == 200


def test_the_recipe_clears_every_identity_header_the_docs_name() -> None:
    recipe = RECIPE.read_text()
    cleared = set(re.findall(r'^\s*proxy_set_header\s+(\S+)\s+"";', recipe, re.MULTILINE))
    documented = Path(__file__).resolve().parents[1] / "docs"
    named = {"X-Forwarded-User", "X-Forwarded-Groups", "Remote-User", "X-Auth-Request-User", SECRET_HEADER}
    for text in (documented / "security.md").read_text(), (documented / "settings.md").read_text():
        named |= set(re.findall(r"`((?:X-Forwarded|X-Auth-Request|Remote)-[A-Za-z-]+)`", text))
    named -= {"X-Forwarded-For", "X-Forwarded-Host"}  # set by the recipe from what nginx saw
    assert named <= cleared, f"not cleared by deploy/nginx.conf: {sorted(named - cleared)}"


async def test_with_the_proxy_secret_only_nginx_is_believed(
    proxied: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Any process on nginx's machine connects from a trusted address: without the secret, which
    only nginx sends (the recipe's line), its identity headers are not believed."""
    caplog.set_level(logging.INFO)
    settings = dataclasses.replace(proxied, proxy_secret=SECRET)
    lines = {f"proxy_set_header {SECRET_HEADER}": f'"{SECRET}"', "proxy_set_header Remote-User": '"ada"'}
    async with behind_nginx(settings, tmp_path, **lines) as (url, direct):
        assert (await _get(f"{url}/api/usage?scope=all"))[0] == 200
        forged = {"Remote-User": "ada", "X-Forwarded-For": "198.51.100.7"}
        assert (await _get(f"{direct}/api/usage?scope=all", **forged))[0] == 401
        assert (await _get(f"{direct}/api/usage?scope=all", **forged, **{SECRET_HEADER: "a-guess"}))[0] == 401
    messages = [record.getMessage() for record in caplog.records]
    assert any("CHAT_PROXY_SECRET" in message for message in messages)
    assert all(SECRET not in message for message in messages)


async def test_behind_a_gateway_that_writes_ports_each_client_is_itself(settings: Settings, tmp_path: Path) -> None:
    """Azure Application Gateway in front of nginx writes `client-ip:port`; nginx appends the
    gateway's address (here both on loopback). Before, every such client was `ip:unknown`."""
    limited = dataclasses.replace(settings, trusted_proxies=("127.0.0.1",), requests_per_minute=1)
    async with behind_nginx(limited, tmp_path) as (url, _), aiohttp.ClientSession() as session:

        async def chat(forwarded_for: str) -> int:
            headers = {"X-Forwarded-For": forwarded_for}
            async with session.post(f"{url}/api/chat", json=chat_body(), headers=headers) as response:
                await response.read()
                return response.status

        assert await chat("198.51.100.7:50123") == 200
        assert await chat("203.0.113.9:40000") == 200  # another client, its own minute
        assert await chat("198.51.100.7:50124") == 429  # the first again, from another port
        status, usage = await _get(f"{url}/api/usage", **{"X-Forwarded-For": "203.0.113.9:40001"})
        assert status == 200 and json.loads(usage)["client"] == "ip:203.0.113.9"
