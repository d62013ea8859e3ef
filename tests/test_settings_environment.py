"""Where settings come from: the environment and `.env` (read once, every line or one line saying
which cannot be), variables that look like settings but are none, and the values a user pastes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient

from chat import Settings, SettingsError, create_app
from chat.config.environment import SETTING_PREFIXES
from chat.config.settings import environment_names
from chat.config.values import REASONING_API_VERSION
from chat.edge.app import api_version_warning
from chat.run import gunicorn_app
from chat.run.cli import ready_line
from chat.simulator import Simulator
from chat.simulator.profiles import PROFILES, refusal

from .sse_client import chat_body, parse_events, text_of
from .typedefs import StartUp

ROOT = Path(__file__).resolve().parents[1]
PORTAL = "https://name.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"


def test_a_misspelled_variable_is_warned_about_naming_the_closest_setting(start_up: StartUp) -> None:
    returncode, _, stderr = start_up(CHAT_BASIC_AUTHS="ada:a-long-password", CHAT_XYZZY="0", PORT="99999")
    assert returncode == 2  # the bad PORT stops it; the warnings come first
    assert stderr.splitlines() == [
        "warning: CHAT_BASIC_AUTHS is not a setting (did you mean CHAT_BASIC_AUTH?); it is ignored",
        "warning: CHAT_XYZZY is not a setting; it is ignored",
        "error: PORT (port) must be between 0 and 65535, got 99999",
    ]


def test_a_misspelled_variable_in_dot_env_is_warned_about_too(start_up: StartUp, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AZURE_OPENAI_ENDPIONT=https://x.openai.azure.com\nPORT=-1\n")
    _, _, stderr = start_up(cwd=tmp_path)
    assert "warning: AZURE_OPENAI_ENDPIONT is not a setting (did you mean AZURE_OPENAI_ENDPOINT?)" in stderr


async def test_the_gunicorn_app_warns_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in [name for name in os.environ if name in environment_names() or name.startswith(SETTING_PREFIXES)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CHAT_MAX_STREAM", "5")
    monkeypatch.chdir(tmp_path)
    runner = await gunicorn_app.app_runner()
    await runner.cleanup()
    assert "warning: CHAT_MAX_STREAM is not a setting (did you mean CHAT_MAX_STREAMS?)" in capsys.readouterr().err


def test_a_dot_env_line_that_cannot_be_read_stops_start_up_naming_it(start_up: StartUp, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('HOST=127.0.0.1\nCHAT_BASIC_AUTH="ada:a-long-password\nPORT=8081\n')
    returncode, stdout, stderr = start_up(cwd=tmp_path)
    assert returncode == 2 and stdout == ""
    assert stderr.splitlines() == [
        f"error: {tmp_path / '.env'} line 2 cannot be read: write NAME=value, and close any quote a value opens"
    ]
    assert "a-long-password" not in stderr


def test_an_endpoints_file_key_may_be_in_dot_env(start_up: StartUp, tmp_path: Path) -> None:
    (tmp_path / "endpoints.toml").write_text(
        '[[endpoints]]\nurl = "https://x.openai.azure.com"\napi_key_env = "PTU_KEY"\n'
    )
    (tmp_path / ".env").write_text("PTU_KEY=a-key-only-in-dot-env\n")
    with pytest.raises(AssertionError, match="its settings were accepted"):
        start_up(cwd=tmp_path, CHAT_ENDPOINTS_FILE="endpoints.toml", AZURE_OPENAI_DEPLOYMENT="gpt-4o")
    settings = Settings.from_env(
        {"CHAT_ENDPOINTS_FILE": str(tmp_path / "endpoints.toml"), "PTU_KEY": "k", "AZURE_OPENAI_DEPLOYMENT": "d"}
    )
    assert settings.endpoints[0].api_key == "k"


def test_an_endpoints_file_without_a_deployment_names_the_file_setting(start_up: StartUp, tmp_path: Path) -> None:
    (tmp_path / "endpoints.toml").write_text('[[endpoints]]\nurl = "https://x.openai.azure.com"\napi_key = "k"\n')
    returncode, _, stderr = start_up(cwd=tmp_path, CHAT_ENDPOINTS_FILE="endpoints.toml")
    assert returncode == 2
    assert stderr == "error: AZURE_OPENAI_DEPLOYMENT is required when CHAT_ENDPOINTS_FILE is set\n"


def test_the_portals_target_uri_gives_the_endpoint_deployment_and_version() -> None:
    settings = Settings.from_env({"AZURE_OPENAI_ENDPOINT": PORTAL, "AZURE_OPENAI_API_KEY": "k"})
    assert settings.endpoint == "https://name.openai.azure.com"
    assert (settings.deployments, settings.api_version) == (("gpt-4o",), "2024-10-21")
    given = Settings.from_env(
        {"AZURE_OPENAI_ENDPOINT": PORTAL, "AZURE_OPENAI_API_KEY": "k", "AZURE_OPENAI_DEPLOYMENT": "gpt-4o,o3"}
    )
    assert (given.deployments, given.api_version) == (("gpt-4o", "o3"), "2024-10-21")  # what is set wins
    v1 = Settings.from_env(
        {
            "AZURE_OPENAI_ENDPOINT": "https://name.openai.azure.com/openai/v1/chat/completions",
            "AZURE_OPENAI_API_KEY": "k",
            "AZURE_OPENAI_DEPLOYMENT": "d",
        }
    )
    assert (v1.endpoint, v1.api_version) == ("https://name.openai.azure.com/openai/v1", "v1")


@pytest.mark.parametrize(
    "url",
    ["https://name.openai.azure.com/openai/images/generations", "https://name.openai.azure.com/openai/deployments/"],
)
def test_a_request_url_that_names_no_deployment_is_refused_saying_what_to_paste(url: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"AZURE_OPENAI_ENDPOINT": url, "AZURE_OPENAI_API_KEY": "k", "AZURE_OPENAI_DEPLOYMENT": "d"})
    message = str(refused.value)
    assert message.startswith("AZURE_OPENAI_ENDPOINT: ") and "\n" not in message
    assert "paste the resource's address, such as https://NAME.openai.azure.com" in message


async def test_the_portals_target_uri_asks_the_deployment_on_its_path(
    aiohttp_client: AiohttpClient, upstream: TestServer, simulator: Simulator
) -> None:
    pasted = str(upstream.make_url("/openai/deployments/gpt-test/chat/completions")) + "?api-version=2024-10-21"
    settings = Settings.from_env({"AZURE_OPENAI_ENDPOINT": pasted, "AZURE_OPENAI_API_KEY": simulator.api_key})
    client = await aiohttp_client(create_app(settings))
    events, _ = parse_events((await (await client.post("/api/chat", json=chat_body())).read()).decode())
    assert simulator.requests[-1].path == "/openai/deployments/gpt-test/chat/completions"
    assert text_of(events) and events[-1].name == "done"


@pytest.mark.parametrize("version", ["2024-10-21", "2024-12-01", REASONING_API_VERSION, "2025-04-01-preview"])
def test_the_simulator_and_the_server_agree_on_the_oldest_reasoning_version(version: str) -> None:
    refused = refusal(PROFILES["reasoning"], "chat", {}, version) is not None
    settings = Settings(backend="azure", endpoint="https://x.openai.azure.com", api_key="k", api_version=version)
    assert refused == (api_version_warning(settings) is not None)


def test_dot_env_example_says_where_dot_env_is_read_and_names_only_settings() -> None:
    example = (ROOT / ".env.example").read_text()
    assert "working directory" in example.splitlines()[0]
    named = [line.lstrip("# ").partition("=")[0] for line in example.splitlines() if "=" in line]
    assert [name for name in named if name.isupper() and name not in environment_names()] == []


def test_start_up_names_the_endpoints_of_an_endpoints_file(tmp_path: Path) -> None:
    (tmp_path / "endpoints.toml").write_text(
        '[[endpoints]]\nurl = "https://a.openai.azure.com"\napi_key = "k"\n'
        '[[endpoints]]\nurl = "https://b.openai.azure.com"\napi_key = "k"\n'
    )
    settings = Settings.from_env(
        {"CHAT_ENDPOINTS_FILE": str(tmp_path / "endpoints.toml"), "AZURE_OPENAI_DEPLOYMENT": "gpt-4o"}
    )
    assert ready_line(settings) == (
        "chat server on http://127.0.0.1:8080/ answering from a.openai.azure.com, b.openai.azure.com"
    )


def test_start_up_prints_no_credentials_of_any_endpoint() -> None:
    """A password in the second endpoint of a list, keys in query strings: only the hosts are printed."""
    settings = Settings.from_env(
        {
            "AZURE_OPENAI_ENDPOINT": "https://a.openai.azure.com/?api-key=first-secret-key,"
            "https://proxy-user:second-secret@b.example:8443/gateway?subscription-key=third-secret",
            "AZURE_OPENAI_API_KEY": "a-key-of-enough-characters",
            "AZURE_OPENAI_DEPLOYMENT": "gpt-4o",
        }
    )
    line = ready_line(settings)
    assert line == "chat server on http://127.0.0.1:8080/ answering from a.openai.azure.com, b.example:8443"
    assert "secret" not in line and "proxy-user" not in line
