"""Settings: one frozen dataclass, read from the environment and checked once at start-up."""

from __future__ import annotations

import dataclasses
import importlib.util
import ipaddress
import os
from collections.abc import Mapping
from typing import Callable, Literal, TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values

DEFAULT_API_VERSION = "2024-10-21"
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer in markdown when it helps."
SIMULATED_DEPLOYMENT = "simulated"

T = TypeVar("T")
Backend = Literal["simulator", "azure", "openai"]
BACKENDS: tuple[Backend, ...] = ("simulator", "azure", "openai")


def read_environment(dotenv_path: str = ".env") -> dict[str, str]:
    """The process environment over the values of a .env file in the working directory, if any."""
    from_file = {name: value for name, value in dotenv_values(dotenv_path).items() if value is not None}
    return {**from_file, **os.environ}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and fits on one line."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    # Upstream: Azure OpenAI, any OpenAI-compatible server, or (no endpoint) the built-in simulator.
    backend: Backend = "simulator"
    endpoint: str | None = None
    api_key: str | None = dataclasses.field(default=None, repr=False)  # Azure without a key: Entra ID
    managed_identity_client_id: str | None = None
    api_version: str = DEFAULT_API_VERSION
    deployments: tuple[str, ...] = (SIMULATED_DEPLOYMENT,)  # the first is the default
    system_prompt: str = DEFAULT_SYSTEM_PROMPT

    # Server.
    host: str = "127.0.0.1"
    port: int = 8080
    shutdown_timeout: float = 3.0

    # Upstream behaviour.
    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # longest silence between two upstream reads
    max_retries: int = 2
    ping_interval: float = 15.0
    max_tokens: int | None = None

    # Request limits.
    max_body_bytes: int = 1024 * 1024
    max_messages: int = 200
    max_message_chars: int = 32_000
    max_total_chars: int = 200_000
    max_streams: int = 1000
    max_streams_per_client: int = 10
    requests_per_minute: int = 60  # per client; 0 turns the limit off
    write_timeout: float = 30.0  # a client that reads nothing for this long is dropped
    body_timeout: float = 30.0  # longest wait for a request body

    # Access. Without any of these, anyone who can reach the port may chat.
    basic_auth: tuple[tuple[str, str], ...] = dataclasses.field(default=(), repr=False)
    api_tokens: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    trusted_user_header: str | None = None
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    allowed_origins: tuple[str, ...] = ()
    frame_ancestors: str = "'self'"

    # Built-in simulator pace (seconds).
    simulator_token_delay: float = 0.03
    simulator_first_token_delay: float = 0.4

    @property
    def simulated(self) -> bool:
        return self.backend == "simulator"

    @property
    def uses_entra_id(self) -> bool:
        return self.backend == "azure" and not self.api_key

    @property
    def access_controlled(self) -> bool:
        return bool(self.basic_auth or self.api_tokens or self.trusted_user_header)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: object) -> Settings:
        """Build settings from environment variables; raise SettingsError naming a bad one."""
        reader = _EnvReader(env)
        values: dict[str, object] = {
            **_upstream_from_env(reader),
            "system_prompt": reader.text("CHAT_SYSTEM_PROMPT", strip=False) or DEFAULT_SYSTEM_PROMPT,
            "port": reader.number("PORT", int, cls.port, 0, 65535),
            "shutdown_timeout": reader.number("CHAT_SHUTDOWN_TIMEOUT", float, cls.shutdown_timeout, 0.1, 600),
            "connect_timeout": reader.number("CHAT_CONNECT_TIMEOUT", float, cls.connect_timeout, 0.1, 600),
            "read_timeout": reader.number("CHAT_READ_TIMEOUT", float, cls.read_timeout, 0.1, 3600),
            "max_retries": reader.number("CHAT_MAX_RETRIES", int, cls.max_retries, 0, 10),
            "ping_interval": reader.number("CHAT_PING_INTERVAL", float, cls.ping_interval, 0.05, 3600),
            "max_tokens": reader.number("CHAT_MAX_TOKENS", int, None, 1, 1_000_000),
            "max_body_bytes": reader.number("CHAT_MAX_BODY_BYTES", int, cls.max_body_bytes, 1024, 64 * 1024 * 1024),
            "max_messages": reader.number("CHAT_MAX_MESSAGES", int, cls.max_messages, 1, 10_000),
            "max_message_chars": reader.number("CHAT_MAX_MESSAGE_CHARS", int, cls.max_message_chars, 1, 10_000_000),
            "max_total_chars": reader.number("CHAT_MAX_TOTAL_CHARS", int, cls.max_total_chars, 1, 50_000_000),
            "max_streams": reader.number("CHAT_MAX_STREAMS", int, cls.max_streams, 1, 1_000_000),
            "max_streams_per_client": reader.number(
                "CHAT_MAX_STREAMS_PER_CLIENT", int, cls.max_streams_per_client, 1, 1_000_000),
            "requests_per_minute": reader.number(
                "CHAT_REQUESTS_PER_MINUTE", int, cls.requests_per_minute, 0, 1_000_000),
            "write_timeout": reader.number("CHAT_WRITE_TIMEOUT", float, cls.write_timeout, 0.1, 3600),
            "body_timeout": reader.number("CHAT_BODY_TIMEOUT", float, cls.body_timeout, 0.1, 3600),
            "basic_auth": tuple(_credentials(item) for item in reader.items("CHAT_BASIC_AUTH")),
            "api_tokens": reader.items("CHAT_API_TOKENS"),
            "trusted_user_header": reader.text("CHAT_TRUSTED_USER_HEADER"),
            "trusted_proxies": reader.items("CHAT_TRUSTED_PROXIES") or cls.trusted_proxies,
            "allowed_origins": tuple(_check_origin(item) for item in reader.items("CHAT_ALLOWED_ORIGINS")),
            "frame_ancestors": reader.text("CHAT_FRAME_ANCESTORS") or cls.frame_ancestors,
            "simulator_token_delay": reader.number(
                "SIMULATOR_TOKEN_DELAY", float, cls.simulator_token_delay, 0, 10
            ),
            "simulator_first_token_delay": reader.number(
                "SIMULATOR_FIRST_TOKEN_DELAY", float, cls.simulator_first_token_delay, 0, 60
            ),
        }
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        settings.check_entra_support()
        return settings

    def check(self) -> None:
        """Reject combinations that cannot work, whoever built the settings."""
        if self.backend not in BACKENDS:
            raise SettingsError(f"backend must be one of {', '.join(BACKENDS)}")
        if (self.backend == "simulator") != (self.endpoint is None):
            raise SettingsError("an endpoint is needed for the azure and openai backends, and only for them")
        if self.endpoint is not None:
            _check_endpoint(self.endpoint, "the endpoint")
        if not self.deployments or not all(self.deployments):
            raise SettingsError("at least one deployment (model) name is needed")
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"PORT (--port) must be between 0 and 65535, got {self.port}")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(f"CHAT_TRUSTED_PROXIES: {proxy!r} is not an address or network") from None
        if any(len(token) < 16 for token in self.api_tokens):
            raise SettingsError("CHAT_API_TOKENS: each token must have at least 16 characters")
        if any(char in self.frame_ancestors for char in ";,\r\n"):
            raise SettingsError("CHAT_FRAME_ANCESTORS must be a space-separated list of sources")
        if self.max_message_chars > self.max_total_chars:
            raise SettingsError(f"CHAT_MAX_MESSAGE_CHARS ({self.max_message_chars}) must not exceed "
                                f"CHAT_MAX_TOTAL_CHARS ({self.max_total_chars})")


    def check_entra_support(self) -> None:
        if self.uses_entra_id and not _installed("azure.identity"):
            raise SettingsError("AZURE_OPENAI_API_KEY is not set, so sign-in uses Microsoft Entra ID, which "
                                "needs azure-identity: pip install '.[azure]'")


class _EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, *, strip: bool = True) -> str | None:
        value = self._env.get(name)
        if value is None:
            return None
        value = value.strip() if strip else value
        return value or None

    def items(self, name: str) -> tuple[str, ...]:
        """A comma-separated list."""
        return tuple(item.strip() for item in (self.text(name) or "").split(",") if item.strip())

    def required(self, name: str, because: str) -> str:
        value = self.text(name)
        if value is None:
            raise SettingsError(f"{name} is required when {because} is set")
        return value

    def number(self, name: str, kind: Callable[[str], T], default: T, low: float, high: float) -> T:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
        if not low <= value <= high:  # type: ignore[operator]
            raise SettingsError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
        return value


def _upstream_from_env(reader: _EnvReader) -> dict[str, object]:
    azure = reader.text("AZURE_OPENAI_ENDPOINT")
    compatible = reader.text("OPENAI_BASE_URL")
    if azure and compatible:
        raise SettingsError("set AZURE_OPENAI_ENDPOINT or OPENAI_BASE_URL, not both")
    if azure:
        return {
            "backend": "azure",
            "endpoint": _check_endpoint(azure, "AZURE_OPENAI_ENDPOINT"),
            "api_key": reader.text("AZURE_OPENAI_API_KEY"),
            "managed_identity_client_id": reader.text("AZURE_OPENAI_MANAGED_IDENTITY_CLIENT_ID"),
            "api_version": reader.text("AZURE_OPENAI_API_VERSION") or reader.text("OPENAI_API_VERSION")
            or DEFAULT_API_VERSION,
            "deployments": _names(reader.required("AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_ENDPOINT"),
                                  "AZURE_OPENAI_DEPLOYMENT"),
        }
    if compatible:
        return {
            "backend": "openai",
            "endpoint": _check_endpoint(compatible, "OPENAI_BASE_URL"),
            "api_key": reader.text("OPENAI_API_KEY"),
            "deployments": _names(reader.required("OPENAI_MODEL", "OPENAI_BASE_URL"), "OPENAI_MODEL"),
        }
    return {}


def _names(value: str, name: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
    if not names or any(char in item for item in names for char in "/?#"):
        raise SettingsError(f"{name} must be a name or a comma-separated list of names, got {value!r}")
    return names


def _check_endpoint(endpoint: str, name: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an http(s) URL, got {endpoint!r}")
    return endpoint



def _credentials(item: str) -> tuple[str, str]:
    user, colon, password = item.partition(":")
    if not colon or not user or not password:
        raise SettingsError("CHAT_BASIC_AUTH must be user:password pairs separated by commas")
    return user, password


def _check_origin(origin: str) -> str:
    canonical = canonical_origin(origin)
    if canonical is None:
        raise SettingsError(f"CHAT_ALLOWED_ORIGINS: {origin!r} is not an origin like https://tools.example.com")
    return canonical


DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_origin(value: str) -> str | None:
    """`scheme://host[:port]` the way browsers write Origin (no default port), or None if it is not one."""
    try:
        parts = urlsplit(value.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if (parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None
            or parts.path not in ("", "/") or parts.query or parts.fragment):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + ("" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False
