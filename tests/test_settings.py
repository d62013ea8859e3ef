"""Settings: each declared once, and checked however they are built."""

from __future__ import annotations

import dataclasses
import datetime
import re
from pathlib import Path
from typing import Any

import pytest

from chat import Settings, SettingsError, create_app
from chat.config.document import COMMAND, document
from chat.config.fields import declared, setting
from chat.config.settings import environment_names

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


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


def test_every_setting_has_a_row_in_docs_settings() -> None:
    rows = [line for line in DOCS.read_text().splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}
    missing = [name for name in environment_names() if name not in documented]
    assert not missing, f"settings without a row in docs/settings.md's table: {missing}"
    assert len(environment_names()) > 30  # the declarations were found at all


def test_docs_settings_is_current() -> None:
    assert DOCS.read_text() == document(), f"docs/settings.md is not current: run {COMMAND}"


def test_every_setting_says_what_it_means() -> None:
    vague = [spec.env for _, spec in declared(Settings) if len(spec.help) < 15]
    assert not vague


def test_list_settings_are_kept_parsed() -> None:
    settings = Settings.from_env(
        {
            "CHAT_REASONING_EFFORT": "low, o3=high",
            "CHAT_TOKEN_QUOTAS": "ada=500000,token:ci=2000000,ip:10.0.0.7=1000",
            "CHAT_QUOTA_RESET": "06:30",
            "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
            "OPENAI_MODEL": "o3,gpt-4o",
        }
    )
    assert settings.reasoning_effort == (("", "low"), ("o3", "high"))
    assert settings.token_quotas == (("user:ada", 500_000), ("token:ci", 2_000_000), ("ip:10.0.0.7", 1000))
    assert settings.quota_reset == datetime.time(6, 30)
    # Given in code, as text or already parsed, they are kept the same way.
    mixed: dict[str, Any] = {"reasoning_effort": ("o3=high", ("", "low")), "token_quotas": ("ada=5", ("token:ci", 7))}
    given = Settings(deployments=("o3",), **mixed)
    assert given.reasoning_effort == (("o3", "high"), ("", "low"))
    assert given.token_quotas == (("user:ada", 5), ("token:ci", 7))
    with pytest.raises(SettingsError, match=re.escape("CHAT_TOKEN_QUOTAS (token_quotas) must hold client=tokens")):
        Settings(token_quotas=(("ada", -1),))
    with pytest.raises(SettingsError, match=re.escape("CHAT_REASONING_EFFORT (reasoning_effort) must hold")):
        Settings(reasoning_effort=(("o3", "max"),))


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Declared:
    count: int | None = setting(None, "X_COUNT", 1, 9, help="a whole number, its type said once")
    names: tuple[str, ...] = setting((), "X_NAMES", help="a list")
    when: datetime.time = setting(datetime.time(0, 0), "X_WHEN", check=datetime.time.fromisoformat, help="a time")  # noqa: RUF009


def test_a_settings_type_is_its_annotation() -> None:
    kinds = {spec.env: spec.kind for _, spec in declared(_Declared)}
    assert kinds == {"X_COUNT": int, "X_NAMES": tuple, "X_WHEN": datetime.time}
    count = dict((spec.env, spec) for _, spec in declared(_Declared))["X_COUNT"]
    with pytest.raises(SettingsError, match=re.escape("X_COUNT must be a whole number, got '1.5'")):
        count.parse("X_COUNT", "1.5")


def test_a_setting_whose_type_the_environment_cannot_write_needs_a_check() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Unreadable:
        pairs: tuple[tuple[str, str], ...] = setting((), "X_PAIRS", help="pairs, with no check to make them")

    with pytest.raises(TypeError, match="pairs: a setting of tuple"):
        list(declared(Unreadable))
