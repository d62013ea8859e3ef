"""Settings: one frozen dataclass. Each field declares its environment name and its bounds once;
`__post_init__` checks them however the settings were built (environment, code, `replace`)."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import importlib.util
import ipaddress
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from aiohttp import web
from dotenv import dotenv_values

from chat.config.endpoints import EndpointConfig, endpoints_from_file, endpoints_from_lists
from chat.config.presets import PRESET_NAME, PresetsFile, presets_from_file

V1 = "v1"  # Azure's versionless API: https://NAME.openai.azure.com/openai/v1/
# The oldest dated version that reasoning models (the gpt-5 family, o-series) accept on the classic path.
REASONING_API_VERSION = "2024-12-01-preview"
REASONING_EFFORTS = ("minimal", "low", "medium", "high")
MAX_TOKENS_PARAMETERS = ("max_tokens", "max_completion_tokens")
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer in markdown when it helps."
SIMULATED_DEPLOYMENT = "simulated"
# Demo mode offers every model the simulator imitates, each under its own deployment name.
SIMULATOR_MODELS = {
    "gpt-4o": SIMULATED_DEPLOYMENT,
    "reasoning": "simulated-reasoning",
    "responses": "simulated-responses",
    "async-filter": "simulated-async-filter",
}

Backend = Literal["simulator", "azure", "openai"]
BACKENDS: tuple[Backend, ...] = ("simulator", "azure", "openai")
DEFAULT_PORTS = {"http": 80, "https": 443}


def read_environment(dotenv_path: str = ".env") -> dict[str, str]:
    """The process environment over the values of a .env file in the working directory, if any."""
    from_file = {name: value for name, value in dotenv_values(dotenv_path).items() if value is not None}
    return {**from_file, **os.environ}


_KIND_NAMES = {int: "a whole number", float: "a number", str: "text", tuple: "a tuple", bool: "true or false"}
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
# A request may ask for at most this many answer tokens unless CHAT_MAX_TOKENS says otherwise.
DEFAULT_TOKEN_CEILING = 32_768
MIN_PASSWORD_LENGTH = 12
MIN_TOKEN_LENGTH = 16
TOKEN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # a token's name, as identities and usage name it


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and fits on one line."""


@dataclasses.dataclass(frozen=True, slots=True)
class Setting:
    """How one field is written in the environment, and which values it may take."""

    env: str  # its variable (for the OpenAI-compatible backend, `openai_env` when set)
    kind: type  # int, float, str, or tuple for a comma-separated list
    low: float | None = None
    high: float | None = None
    # Parses and checks one value (of a list: each item); ValueError says why.
    check: Callable[[Any], object] | None = None
    strip: bool = True
    aliases: tuple[str, ...] = ()  # read, in order, when `env` is unset
    openai_env: str | None = None
    only: Backend | None = None  # read only for this backend

    def names(self, backend: Backend) -> tuple[str, ...]:
        if self.only is not None and backend not in (self.only, "simulator"):
            return ()
        if backend == "openai":
            return (self.openai_env or self.env, *self.aliases)
        return (self.env, *self.aliases)

    def parse(self, name: str, raw: str) -> object:
        if self.kind is tuple:  # each item is checked with the rest, in `Settings.__post_init__`
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if self.kind is str:
            return raw
        if self.kind is bool:
            if raw.lower() not in _BOOLEANS:
                raise SettingsError(f"{name} must be true or false, got {_shown(raw)}")
            return _BOOLEANS[raw.lower()]
        try:
            return self.kind(raw)
        except ValueError:
            raise SettingsError(f"{name} must be {_KIND_NAMES[self.kind]}, got {_shown(raw)}") from None

    def normalise(self, value: object) -> object:
        """`value` in its kept form; ValueError says why it is not allowed."""
        if value is None:
            return None
        if self.kind is tuple:
            if not isinstance(value, tuple):
                raise ValueError(f"must be a tuple, got {_shown(value)}")
            return tuple(self.check(part) for part in value) if self.check else value
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false, got {_shown(value)}")
            return value
        if not ((isinstance(value, self.kind) and not isinstance(value, bool)) or (self.kind is float and is_number)):
            raise ValueError(f"must be {_KIND_NAMES[self.kind]}, got {_shown(value)}")
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:  # type: ignore[operator]
            raise ValueError(f"must be between {self.low:n} and {self.high:n}, got {_shown(value)}")
        if self.check is not None:
            return self.check(value)
        return float(value) if self.kind is float else value  # type: ignore[arg-type]


def setting(
    default: Any,
    env: str,
    kind: type,
    low: float | None = None,
    high: float | None = None,
    *,
    repr: bool = True,
    **options: Any,
) -> Any:
    """A dataclass field with its environment name and bounds."""
    return dataclasses.field(default=default, repr=repr, metadata={"setting": Setting(env, kind, low, high, **options)})


# Checks of one list item: each returns the item as kept, or raises ValueError saying why.


def _deployment_name(name: str) -> str:
    if not name or any(char in name for char in "/?#"):
        raise ValueError(f"must hold names without / ? or #, not {_shown(name)}")
    return name


def _network(proxy: str) -> str:
    try:
        ipaddress.ip_network(proxy, strict=False)
    except ValueError:
        raise ValueError(f"must hold addresses or networks, not {_shown(proxy)}") from None
    return proxy


def token_parts(item: str) -> tuple[str | None, str]:
    """`name=token` as (name, token), a plain `token` as (None, token). A token that itself holds `=`
    needs a name in front; one that only ends in `=` (base64 padding) reads as plain."""
    name, equals, token = item.partition("=")
    if equals and TOKEN_NAME.fullmatch(name) and token.strip("="):
        return name, token
    return None, item


def _token(item: str) -> str:
    if len(token_parts(item)[1]) < MIN_TOKEN_LENGTH:
        raise ValueError(f"must hold tokens of at least {MIN_TOKEN_LENGTH} characters each, alone or as name=token")
    return item


def _usage_admin(item: str) -> str:
    """A user name (`ada`, `user:ada`) or a token's name (`token:ci`), kept as the client identity."""
    kind, colon, name = item.partition(":")
    if not colon:
        kind, name = "user", item
    if kind not in ("user", "token") or not name:
        raise ValueError(f"must hold user names or token:NAME, not {_shown(item)}")
    return f"{kind}:{name}"


def _api_version(version: str) -> str:
    if version != V1 and not re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", version):
        raise ValueError(f"must be v1 or a date like {REASONING_API_VERSION}, not {_shown(version)}")
    return version


def _reasoning_effort(item: str) -> str:
    """`effort` for every deployment, or `deployment=effort` for one."""
    deployment, _, effort = item.rpartition("=")
    if effort not in REASONING_EFFORTS or (deployment and _deployment_name(deployment) != deployment):
        raise ValueError(f"must hold {', '.join(REASONING_EFFORTS)} or deployment=effort, not {_shown(item)}")
    return item


def _preset_name(name: str) -> str:
    if not PRESET_NAME.fullmatch(name):
        raise ValueError(f"must be a preset's name (letters, digits, - and _), not {_shown(name)}")
    return name


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {_shown(value)}")
        return value

    return check


def _credentials(item: str | tuple[str, str]) -> tuple[str, str]:
    """`user:password` from the environment, or the pair given in code."""
    user, password = (
        item.split(":", 1)
        if isinstance(item, str) and ":" in item
        else (item if isinstance(item, tuple) and len(item) == 2 else ("", ""))
    )
    if not (isinstance(user, str) and isinstance(password, str) and user and password):
        raise ValueError("must hold user:password pairs")  # never quoted: it holds a password
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"must hold passwords of at least {MIN_PASSWORD_LENGTH} characters (the one of {_shown(user)} is shorter)"
        )
    return user, password


def _redis_url(url: str) -> str:
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ValueError("must be a redis://, rediss:// (TLS) or unix:// URL")  # never quoted: it may hold a password
    return url


def _quota_client(item: str) -> str:
    """`client=tokens`: a user name (`ada`, `user:ada`), a token's name (`token:ci`) or an address (`ip:...`)."""
    client, equals, amount = item.rpartition("=")
    kind, colon, name = client.partition(":")
    if not colon:
        kind, name = "user", client
    if not equals or kind not in ("user", "token", "ip") or not name or not amount.isdigit():
        raise ValueError(f"must hold client=tokens pairs such as ada=500000 or token:ci=2000000, not {_shown(item)}")
    return f"{kind}:{name}={int(amount)}"


def _time_of_day(value: str) -> str:
    try:
        datetime.time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"must be a time of day in UTC such as 06:00, not {_shown(value)}") from None
    return value


def _host_pattern(pattern: str) -> str:
    """A host name (`chat.example.com`), every name under a domain (`*.example.com`), or `*` for any."""
    name = pattern.lower().removeprefix("*.")
    if pattern != "*" and (not name or not re.fullmatch(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]", name)):
        raise ValueError(f"must hold host names like chat.example.com or *.example.com, not {_shown(pattern)}")
    return pattern.lower()


def _origin(origin: str) -> str:
    canonical = canonical_origin(origin)
    if canonical is None:
        raise ValueError(f"must hold origins like https://tools.example.com, not {_shown(origin)}")
    return canonical


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    # Upstream: Azure OpenAI, any OpenAI-compatible server, or (no endpoint) the built-in simulator.
    # The backend follows from which endpoint variable is set.
    backend: Backend = "simulator"
    # Several, comma-separated, are tried in that order: the next one at once when one is throttled or down.
    endpoint: str | None = setting(None, "AZURE_OPENAI_ENDPOINT", str, openai_env="OPENAI_BASE_URL")
    # One key for all endpoints, or one each in the same order. Azure without a key: Entra ID.
    api_key: str | None = setting(None, "AZURE_OPENAI_API_KEY", str, openai_env="OPENAI_API_KEY", repr=False)
    # Endpoints with weights, priorities or their own deployment names (chat/endpoints.py), instead.
    endpoints_file: str | None = setting(None, "CHAT_ENDPOINTS_FILE", str, only="azure")
    managed_identity_client_id: str | None = setting(None, "AZURE_OPENAI_MANAGED_IDENTITY_CLIENT_ID", str, only="azure")
    # v1: the versionless API (the default); a date selects the classic /openai/deployments/ path.
    api_version: str = setting(
        V1, "AZURE_OPENAI_API_VERSION", str, aliases=("OPENAI_API_VERSION",), only="azure", check=_api_version
    )
    # The first is the default; the page offers the others. Demo mode: one per simulated model.
    deployments: tuple[str, ...] = setting(
        tuple(SIMULATOR_MODELS.values()),
        "AZURE_OPENAI_DEPLOYMENT",
        tuple,
        check=_deployment_name,
        openai_env="OPENAI_MODEL",
    )
    # Deployments served through the Responses API (the models that have no Chat Completions).
    responses_deployments: tuple[str, ...] = setting((), "CHAT_RESPONSES_DEPLOYMENTS", tuple, check=_deployment_name)
    reasoning_effort: tuple[str, ...] = setting((), "CHAT_REASONING_EFFORT", tuple, check=_reasoning_effort)
    # What OpenAI-compatible servers call the answer's token ceiling; Azure always gets max_completion_tokens.
    max_tokens_parameter: str = setting(
        "max_tokens", "OPENAI_MAX_TOKENS_PARAMETER", str, only="openai", check=_one_of(MAX_TOKENS_PARAMETERS)
    )
    system_prompt: str = setting(DEFAULT_SYSTEM_PROMPT, "CHAT_SYSTEM_PROMPT", str, strip=False)
    # Locked: the server's system prompt always applies, and a client's own system message is refused.
    system_prompt_locked: bool = setting(False, "CHAT_SYSTEM_PROMPT_LOCKED", bool)
    # Named presets for embedding tools, and which groups may use which preset and deployment (chat/presets.py).
    presets_file: str | None = setting(None, "CHAT_PRESETS_FILE", str)
    # The preset of `/`, `/embed` and of API requests that name none.
    default_preset: str | None = setting(None, "CHAT_DEFAULT_PRESET", str, check=_preset_name)

    # Server.
    host: str = setting("127.0.0.1", "HOST", str)
    port: int = setting(8080, "PORT", int, 0, 65535)
    shutdown_timeout: float = setting(3.0, "CHAT_SHUTDOWN_TIMEOUT", float, 0.1, 600)
    keepalive_timeout: float = setting(15.0, "CHAT_KEEPALIVE_TIMEOUT", float, 1, 3600)  # an idle connection

    # Upstream behaviour.
    connect_timeout: float = setting(10.0, "CHAT_CONNECT_TIMEOUT", float, 0.1, 600)
    # A reasoning model may think silently for minutes before its first token; after that, a silence
    # longer than the read timeout is a stall.
    first_token_timeout: float = setting(600.0, "CHAT_FIRST_TOKEN_TIMEOUT", float, 0.1, 86_400)
    read_timeout: float = setting(60.0, "CHAT_READ_TIMEOUT", float, 0.1, 3600)
    max_retries: int = setting(2, "CHAT_MAX_RETRIES", int, 0, 10)
    ping_interval: float = setting(15.0, "CHAT_PING_INTERVAL", float, 0.05, 3600)
    # The most a request may ask for, and then also sent when a request names none. Unset: requests
    # may ask for up to DEFAULT_TOKEN_CEILING, and those that name none get the model's own default.
    max_tokens: int | None = setting(None, "CHAT_MAX_TOKENS", int, 1, 1_000_000)

    # Request limits.
    max_body_bytes: int = setting(1024 * 1024, "CHAT_MAX_BODY_BYTES", int, 1024, 64 * 1024 * 1024)
    max_messages: int = setting(200, "CHAT_MAX_MESSAGES", int, 1, 10_000)
    max_message_chars: int = setting(32_000, "CHAT_MAX_MESSAGE_CHARS", int, 1, 10_000_000)
    max_total_chars: int = setting(200_000, "CHAT_MAX_TOTAL_CHARS", int, 1, 50_000_000)
    max_streams: int = setting(1000, "CHAT_MAX_STREAMS", int, 1, 1_000_000)
    max_streams_per_client: int = setting(10, "CHAT_MAX_STREAMS_PER_CLIENT", int, 1, 1_000_000)
    requests_per_minute: int = setting(60, "CHAT_REQUESTS_PER_MINUTE", int, 0, 1_000_000)  # 0: no limit
    # Shared by every process that names the same Redis: open streams, message rates, failed sign-ins, usage.
    redis_url: str | None = setting(None, "CHAT_REDIS_URL", str, check=_redis_url, repr=False)
    # How long a stream's place in Redis outlives the process holding it, if that process dies.
    stream_lease_seconds: float = setting(10.0, "CHAT_STREAM_LEASE_SECONDS", float, 0.5, 600)
    # Tokens (prompt, completion and reasoning) a client may use per day; 0: no quota.
    tokens_per_day: int = setting(0, "CHAT_TOKENS_PER_DAY", int, 0, 10**12)
    token_quotas: tuple[str, ...] = setting((), "CHAT_TOKEN_QUOTAS", tuple, check=_quota_client)  # client=tokens
    quota_reset: str = setting("00:00", "CHAT_QUOTA_RESET", str, check=_time_of_day)  # UTC time of day
    write_timeout: float = setting(30.0, "CHAT_WRITE_TIMEOUT", float, 0.1, 3600)  # a client reading nothing
    body_timeout: float = setting(30.0, "CHAT_BODY_TIMEOUT", float, 0.1, 3600)  # longest wait for a body

    # Access. Without any of these, anyone who can reach the port may chat.
    basic_auth: tuple[tuple[str, str], ...] = setting((), "CHAT_BASIC_AUTH", tuple, check=_credentials, repr=False)
    # `token` or `name=token`; a named token's client is `token:name` in the log, the limits and usage.
    api_tokens: tuple[str, ...] = setting((), "CHAT_API_TOKENS", tuple, check=_token, repr=False)
    trusted_user_header: str | None = setting(None, "CHAT_TRUSTED_USER_HEADER", str)
    # Comma-separated groups of the client, set by the same proxies, e.g. X-Forwarded-Groups.
    trusted_groups_header: str | None = setting(None, "CHAT_TRUSTED_GROUPS_HEADER", str)
    # None by default: any local process could otherwise claim to be a proxy and forge these headers.
    trusted_proxies: tuple[str, ...] = setting((), "CHAT_TRUSTED_PROXIES", tuple, check=_network)
    # Host names the server answers to besides loopback, its listen address and IP literals (a site
    # that rebinds its name to this server must not become same-origin with it).
    allowed_hosts: tuple[str, ...] = setting((), "CHAT_ALLOWED_HOSTS", tuple, check=_host_pattern)
    allowed_origins: tuple[str, ...] = setting((), "CHAT_ALLOWED_ORIGINS", tuple, check=_origin)
    frame_ancestors: str = setting("'self'", "CHAT_FRAME_ANCESTORS", str)

    # Operating it: Prometheus metrics at /metrics, and who may see everyone's usage at /api/usage.
    metrics: bool = setting(True, "CHAT_METRICS", bool)
    usage_admins: tuple[str, ...] = setting((), "CHAT_USAGE_ADMINS", tuple, check=_usage_admin)

    # Built-in simulator: the model it imitates by default, and its pace (seconds).
    simulator_model: str = setting("gpt-4o", "SIMULATOR_MODEL", str, check=_one_of(tuple(SIMULATOR_MODELS)))
    simulator_token_delay: float = setting(0.03, "SIMULATOR_TOKEN_DELAY", float, 0, 10)
    simulator_first_token_delay: float = setting(0.4, "SIMULATOR_FIRST_TOKEN_DELAY", float, 0, 60)
    simulator_thinking_time: float = setting(4.0, "SIMULATOR_THINKING_TIME", float, 0, 3600)

    def __post_init__(self) -> None:
        for field, spec in _declared():
            try:
                # Lists are kept in their canonical form (origins as browsers write them), whoever wrote them.
                object.__setattr__(self, field.name, spec.normalise(getattr(self, field.name)))
            except ValueError as error:
                raise SettingsError(f"{spec.env} ({field.name}) {error}") from None
        if self.simulated and set(self.deployments) == set(SIMULATOR_MODELS.values()):
            first = SIMULATOR_MODELS[self.simulator_model]  # SIMULATOR_MODEL picks the default deployment
            object.__setattr__(self, "deployments", (first, *(d for d in self.deployments if d != first)))
        self._check_combinations()

    def _check_combinations(self) -> None:
        if self.backend not in BACKENDS:
            raise SettingsError(f"backend must be one of {', '.join(BACKENDS)}")
        if (self.backend == "simulator") != (self.endpoint is None and self.endpoints_file is None):
            raise SettingsError("an endpoint is needed for the azure and openai backends, and only for them")
        if self.endpoint is not None and self.endpoints_file is not None:
            raise SettingsError("set AZURE_OPENAI_ENDPOINT or CHAT_ENDPOINTS_FILE, not both")
        try:
            self.endpoints  # noqa: B018 - read (and cached) here, so that a bad list or file stops start-up
        except ValueError as error:
            name = "CHAT_ENDPOINTS_FILE" if self.endpoints_file else "AZURE_OPENAI_ENDPOINT"
            raise SettingsError(f"{name}: {error}") from None
        if not self.deployments:
            raise SettingsError("AZURE_OPENAI_DEPLOYMENT (deployments): at least one deployment name is needed")
        if unknown := [d for d in self.responses_deployments if d not in self.deployments]:
            raise SettingsError(
                f"CHAT_RESPONSES_DEPLOYMENTS names {_shown(unknown[0])}, which is not among the "
                f"deployments ({', '.join(self.deployments)})"
            )
        for item in self.reasoning_effort:
            deployment = item.rpartition("=")[0]
            if deployment and deployment not in self.deployments:
                raise SettingsError(
                    f"CHAT_REASONING_EFFORT names {_shown(deployment)}, which is not among the "
                    f"deployments ({', '.join(self.deployments)})"
                )
        try:
            self.presets  # noqa: B018 - read (and cached) here, so that a bad file stops start-up
        except ValueError as error:
            raise SettingsError(f"CHAT_PRESETS_FILE: {error}") from None
        if self.default_preset is not None and self.default_preset not in self.presets.presets:
            raise SettingsError(
                f"CHAT_DEFAULT_PRESET names {_shown(self.default_preset)}, which is not a preset of CHAT_PRESETS_FILE"
            )
        if self.trusted_groups_header and not self.trusted_proxies:
            raise SettingsError(
                "CHAT_TRUSTED_GROUPS_HEADER needs CHAT_TRUSTED_PROXIES: the addresses of the proxies that set it "
                "(otherwise any client could send it)"
            )
        if self.trusted_user_header and not self.trusted_proxies:
            raise SettingsError(
                "CHAT_TRUSTED_USER_HEADER needs CHAT_TRUSTED_PROXIES: the addresses of the proxies that set it "
                "(otherwise any client could send it)"
            )
        names = [name for name, _ in self.named_tokens if name is not None]
        if repeated := sorted({name for name in names if names.count(name) > 1}):
            raise SettingsError(f"CHAT_API_TOKENS names {_shown(repeated[0])} more than once")
        if unknown := [a for a in self.usage_admins if a.startswith("token:") and a[6:] not in names]:
            raise SettingsError(
                f"CHAT_USAGE_ADMINS names {_shown(unknown[0])}, but no token in CHAT_API_TOKENS has that name"
            )
        if any(char in self.frame_ancestors for char in ";,\r\n"):
            raise SettingsError("CHAT_FRAME_ANCESTORS must be a space-separated list of sources")
        if self.max_message_chars > self.max_total_chars:
            raise SettingsError(
                f"CHAT_MAX_MESSAGE_CHARS ({self.max_message_chars}) must not exceed "
                f"CHAT_MAX_TOTAL_CHARS ({self.max_total_chars})"
            )

    def uses_responses_api(self, deployment: str) -> bool:
        if self.simulated and deployment == SIMULATOR_MODELS["responses"]:
            return True
        return deployment in self.responses_deployments

    def reasoning_effort_for(self, deployment: str) -> str | None:
        """The deployment's own effort, else the one given for all, else None (the model's default)."""
        efforts = dict(item.rpartition("=")[::2] for item in self.reasoning_effort)
        return efforts.get(deployment) or efforts.get("")

    @property
    def token_ceiling(self) -> int:
        return self.max_tokens or DEFAULT_TOKEN_CEILING

    @property
    def uses_v1_api(self) -> bool:
        return self.api_version == V1

    @property
    def simulated(self) -> bool:
        return self.backend == "simulator"

    @property
    def token_quota_overrides(self) -> dict[str, int]:
        """Per-client daily quotas that replace CHAT_TOKENS_PER_DAY, by client identity."""
        return {client: int(amount) for client, _, amount in (item.rpartition("=") for item in self.token_quotas)}

    @property
    def quota_reset_time(self) -> datetime.time:
        return datetime.time.fromisoformat(self.quota_reset)

    @functools.cached_property
    def endpoints(self) -> tuple[EndpointConfig, ...]:
        """The upstream endpoints, in priority order; none for the simulator (it starts with the app)."""
        if self.endpoints_file is not None:
            return endpoints_from_file(self.endpoints_file)
        if self.endpoint is None:
            return ()
        openai = self.backend == "openai"
        return endpoints_from_lists(
            self.endpoint,
            self.api_key,
            "OPENAI_BASE_URL" if openai else "AZURE_OPENAI_ENDPOINT",
            "OPENAI_API_KEY" if openai else "AZURE_OPENAI_API_KEY",
        )

    @functools.cached_property
    def presets(self) -> PresetsFile:
        """The presets and group rules of CHAT_PRESETS_FILE; none without it."""
        if self.presets_file is None:
            return PresetsFile()
        return presets_from_file(self.presets_file, self.deployments, REASONING_EFFORTS, self.token_ceiling)

    @property
    def uses_entra_id(self) -> bool:
        return self.backend == "azure" and any(not endpoint.api_key for endpoint in self.endpoints)

    @functools.cached_property
    def named_tokens(self) -> tuple[tuple[str | None, str], ...]:
        """The API tokens as (name or None, token)."""
        return tuple(token_parts(item) for item in self.api_tokens)

    @property
    def access_controlled(self) -> bool:
        return bool(self.basic_auth or self.api_tokens or self.trusted_user_header)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: object) -> Settings:
        """Build settings from environment variables; raise SettingsError naming a bad one."""
        backend = _backend_of(env)
        values: dict[str, object] = {"backend": backend}
        for field, spec in _declared():
            for name in spec.names(backend):
                raw = env.get(name)
                raw = raw.strip() if raw is not None and spec.strip else raw
                if raw:
                    values[field.name] = spec.parse(name, raw)
                    break
        if backend != "simulator" and "deployments" not in values:
            spec = _declared_by_name()["deployments"]
            endpoint = _declared_by_name()["endpoint"]
            raise SettingsError(f"{spec.names(backend)[0]} is required when {endpoint.names(backend)[0]} is set")
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check_entra_support()
        return settings

    def check_entra_support(self) -> None:
        if self.uses_entra_id and not _installed("azure.identity"):
            raise SettingsError(
                "AZURE_OPENAI_API_KEY is not set, so sign-in uses Microsoft Entra ID, which "
                "needs azure-identity: pip install '.[azure]'"
            )


def _declared() -> Iterator[tuple[dataclasses.Field[Any], Setting]]:
    for field in dataclasses.fields(Settings):
        if (spec := field.metadata.get("setting")) is not None:
            yield field, spec


def _declared_by_name() -> dict[str, Setting]:
    return {field.name: spec for field, spec in _declared()}


def environment_names() -> list[str]:
    """Every environment variable a setting is read from, for the README's table."""
    names: list[str] = []
    for _, spec in _declared():
        for backend in ("azure", "openai"):
            names += [name for name in spec.names(backend) if name not in names]
    return names


def _backend_of(env: Mapping[str, str]) -> Backend:
    azure = (env.get("AZURE_OPENAI_ENDPOINT") or env.get("CHAT_ENDPOINTS_FILE") or "").strip()
    compatible = (env.get("OPENAI_BASE_URL") or "").strip()
    if azure and compatible:
        raise SettingsError("set AZURE_OPENAI_ENDPOINT or OPENAI_BASE_URL, not both")
    return "azure" if azure else "openai" if compatible else "simulator"


def _shown(value: object) -> str:
    """A value as an error message may quote it: repr, capped."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def canonical_origin(value: str) -> str | None:
    """`scheme://host[:port]` the way browsers write Origin (no default port), or None if it is not one."""
    try:
        parts = urlsplit(value.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + ("" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


settings_key = web.AppKey("settings_key", Settings)
