"""Settings: each declared once, and checked however they are built."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from chat import Settings, SettingsError, create_app
from chat.config.settings import environment_names

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ping_interval": 0}, "CHAT_PING_INTERVAL (ping_interval) must be between 0.05 and 3600, got 0"),
        ({"max_streams": 0}, "CHAT_MAX_STREAMS (max_streams) must be between 1 and 1000000, got 0"),
        ({"write_timeout": 0}, "CHAT_WRITE_TIMEOUT (write_timeout) must be between 0.1 and 3600, got 0"),
        ({"port": "8080"}, "PORT (port) must be a whole number, got '8080'"),
        ({"max_retries": 1.5}, "CHAT_MAX_RETRIES (max_retries) must be a whole number, got 1.5"),
        ({"max_tokens": True}, "CHAT_MAX_TOKENS (max_tokens) must be a whole number, got True"),
        ({"api_tokens": ("short",)}, "CHAT_API_TOKENS (api_tokens) must hold tokens of at least 16 characters"),
        ({"trusted_proxies": "10.0.0.1"}, "CHAT_TRUSTED_PROXIES (trusted_proxies) must be a tuple"),
        ({"trusted_proxies": ("proxy.local",)}, "must hold addresses or networks, not 'proxy.local'"),
        ({"basic_auth": (("ada", ""),)}, "CHAT_BASIC_AUTH (basic_auth) must hold user:password pairs"),
        ({"max_message_chars": 10, "max_total_chars": 5}, "CHAT_MAX_MESSAGE_CHARS (10) must not exceed"),
    ],
    ids=[
        "ping-zero",
        "streams-zero",
        "write-timeout-zero",
        "port-text",
        "retries-fraction",
        "tokens-bool",
        "short-token",
        "proxies-not-tuple",
        "proxy-name",
        "empty-password",
        "message-over-total",
    ],
)
def test_a_bad_value_given_in_code_names_the_setting(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings(**changes)
    with pytest.raises(SettingsError, match=re.escape(message)):
        dataclasses.replace(Settings(), **changes)


def test_create_app_never_sees_unchecked_settings() -> None:
    with pytest.raises(SettingsError, match="CHAT_PING_INTERVAL"):
        create_app(dataclasses.replace(Settings(), ping_interval=0))


def test_values_given_in_code_are_kept_in_canonical_form() -> None:
    settings = Settings(
        allowed_origins=("HTTPS://Tools.Example:443",),
        basic_auth=(("ada", "pw:with:colons:and-more"),),
        shutdown_timeout=2,
    )
    assert settings.allowed_origins == ("https://tools.example",)
    assert settings.basic_auth == (("ada", "pw:with:colons:and-more"),)
    assert settings.shutdown_timeout == 2.0 and isinstance(settings.shutdown_timeout, float)


def test_environment_values_pass_the_same_checks() -> None:
    with pytest.raises(SettingsError, match=re.escape("CHAT_MAX_STREAMS (max_streams) must be between 1")):
        Settings.from_env({"CHAT_MAX_STREAMS": "0"})
    settings = Settings.from_env(
        {"CHAT_BASIC_AUTH": "ada:a:b:long-enough, bob:long-password", "CHAT_MAX_TOKENS": " 4096 "}
    )
    assert settings.basic_auth == (("ada", "a:b:long-enough"), ("bob", "long-password"))
    assert settings.max_tokens == 4096


def test_secrets_are_not_in_the_repr() -> None:
    settings = Settings(api_tokens=("a-token-of-sixteen-chars",), basic_auth=(("ada", "hunter2-hunter2"),))
    assert "sixteen" not in repr(settings) and "hunter2" not in repr(settings)


def test_every_setting_has_a_row_in_the_readme() -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}
    missing = [name for name in environment_names() if name not in documented]
    assert not missing, f"settings without a row in README.md's table: {missing}"
    assert len(environment_names()) > 30  # the declarations were found at all
