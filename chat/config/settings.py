"""Settings: one frozen dataclass, its fields declared in three parts (chat/config/model_settings.py,
chat/config/serving_settings.py, chat/config/history_settings.py), each with its type, environment
name, bounds and meaning once (docs/settings.md is generated from them). `__post_init__` checks them
and keeps them parsed, however the settings were built (environment, code, `replace`); `from_env`
reads them from the environment."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from chat.config import values as v
from chat.config.endpoints import EndpointConfig, endpoints_from_file, endpoints_from_lists, target_uri_parts
from chat.config.fields import BACKENDS, Backend, Setting, SettingsError, declared, shown
from chat.config.history_settings import HistorySettings
from chat.config.model_settings import ModelSettings
from chat.config.presets import PresetsFile, presets_from_file
from chat.config.serving_settings import ServingSettings
from chat.config.values import REASONING_EFFORTS, SIMULATOR_MODELS, V1

__all__ = ["Settings", "SettingsError", "environment_names", "settings_key"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings(HistorySettings, ServingSettings, ModelSettings):
    # The backend follows from which endpoint variable is set.
    backend: Backend = "simulator"
    # Where the variables that CHAT_ENDPOINTS_FILE's `api_key_env` names are read: `from_env`'s (the
    # environment with .env); None: the process environment.
    environment: Mapping[str, str] | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for field, spec in declared(Settings):
            try:
                # Lists are kept in their canonical form (origins as browsers write them), whoever wrote them.
                object.__setattr__(self, field.name, spec.normalise(getattr(self, field.name)))
            except ValueError as error:
                raise SettingsError(f"{spec.env} ({field.name}) {error}") from None
        if self.simulated and set(self.deployments) == set(SIMULATOR_MODELS.values()):
            first = SIMULATOR_MODELS[self.simulator_model]  # SIMULATOR_MODEL picks the default deployment
            object.__setattr__(self, "deployments", (first, *(d for d in self.deployments if d != first)))
        check_combinations(self)

    def uses_responses_api(self, deployment: str) -> bool:
        if self.simulated and deployment == SIMULATOR_MODELS["responses"]:
            return True
        return deployment in self.responses_deployments

    def reasoning_effort_for(self, deployment: str) -> str | None:
        """The deployment's own effort, else the one given for all, else None (the model's default)."""
        efforts = dict(self.reasoning_effort)
        return efforts.get(deployment) or efforts.get("")

    @property
    def token_ceiling(self) -> int:
        return self.max_tokens or v.DEFAULT_TOKEN_CEILING

    @property
    def uses_v1_api(self) -> bool:
        return self.api_version == V1

    @property
    def simulated(self) -> bool:
        return self.backend == "simulator"

    @property
    def token_quota_overrides(self) -> dict[str, int]:
        """Per-client daily quotas that replace CHAT_TOKENS_PER_DAY, by client identity."""
        return dict(self.token_quotas)

    @functools.cached_property
    def endpoints(self) -> tuple[EndpointConfig, ...]:
        """The upstream endpoints, in priority order; none for the simulator (it starts with the app)."""
        if self.endpoints_file is not None:
            return endpoints_from_file(self.endpoints_file, self.environment)
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
        return tuple(v.token_parts(item) for item in self.api_tokens)

    @property
    def access_controlled(self) -> bool:
        return bool(self.basic_auth or self.api_tokens or self.trusted_user_header)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: object) -> Settings:
        """Build settings from environment variables; raise SettingsError naming a bad one."""
        backend = _backend_of(env)
        values: dict[str, Any] = {"backend": backend, "environment": env}
        for field, spec in declared(cls):
            for name in spec.names(backend):
                raw = env.get(name)
                raw = raw.strip() if raw is not None and spec.strip else raw
                if raw:
                    values[field.name] = spec.parse(name, raw)
                    break
        if backend == "azure" and values.get("endpoint"):
            _take_target_uris(values)
        if backend != "simulator" and "deployments" not in values:
            given = "CHAT_ENDPOINTS_FILE" if "endpoints_file" in values else _spec("endpoint").names(backend)[0]
            raise SettingsError(f"{_spec('deployments').names(backend)[0]} is required when {given} is set")
        values.update(overrides)
        settings = cls(**values)
        settings.check_entra_support()
        return settings

    def check_entra_support(self) -> None:
        if self.uses_entra_id and not _installed("azure.identity"):
            raise SettingsError(
                "AZURE_OPENAI_API_KEY is not set, so sign-in uses Microsoft Entra ID, which "
                "needs azure-identity: pip install '.[azure]'"
            )


def _take_target_uris(values: dict[str, Any]) -> None:
    """AZURE_OPENAI_ENDPOINT as the portal's full target URIs: the endpoints, and (unless set) the
    deployments and api-version they name."""
    endpoints, deployments, versions = [], [], set()
    for url in (part.strip() for part in str(values["endpoint"]).split(",") if part.strip()):
        try:
            parts = target_uri_parts(url)
        except ValueError as error:
            raise SettingsError(f"AZURE_OPENAI_ENDPOINT: {error}") from None
        endpoint, deployment, version = parts or (url, None, None)
        endpoints.append(endpoint)
        deployments += [deployment] if deployment and deployment not in deployments else []
        versions |= {version} if version else set()
    if len(versions) > 1:
        raise SettingsError(f"AZURE_OPENAI_ENDPOINT names api-versions {' and '.join(sorted(versions))}: keep one")
    values["endpoint"] = ",".join(endpoints)
    if deployments:
        values.setdefault("deployments", tuple(deployments))
    if versions:
        values.setdefault("api_version", versions.pop())


def _spec(name: str) -> Setting:
    return next(spec for field, spec in declared(Settings) if field.name == name)


def environment_names() -> list[str]:
    """Every environment variable a setting is read from, for the documentation and the unknown ones."""
    names: list[str] = []
    for _, spec in declared(Settings):
        for backend in ("azure", "openai"):
            names += [name for name in spec.names(backend) if name not in names]
    return names


def _backend_of(env: Mapping[str, str]) -> Backend:
    azure = (env.get("AZURE_OPENAI_ENDPOINT") or env.get("CHAT_ENDPOINTS_FILE") or "").strip()
    compatible = (env.get("OPENAI_BASE_URL") or "").strip()
    if azure and compatible:
        raise SettingsError("set AZURE_OPENAI_ENDPOINT or OPENAI_BASE_URL, not both")
    return "azure" if azure else "openai" if compatible else "simulator"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


# The checks of settings taken together (each value alone is checked by its declaration): one line
# naming the settings that do not go together.
def check_combinations(settings: Settings) -> None:
    if settings.backend not in BACKENDS:
        raise SettingsError(f"backend must be one of {', '.join(BACKENDS)}")
    if (settings.backend == "simulator") != (settings.endpoint is None and settings.endpoints_file is None):
        raise SettingsError("an endpoint is needed for the azure and openai backends, and only for them")
    if settings.endpoint is not None and settings.endpoints_file is not None:
        raise SettingsError("set AZURE_OPENAI_ENDPOINT or CHAT_ENDPOINTS_FILE, not both")
    try:
        settings.endpoints  # noqa: B018 - read (and cached) here, so that a bad list or file stops start-up
    except ValueError as error:
        name = "CHAT_ENDPOINTS_FILE" if settings.endpoints_file else "AZURE_OPENAI_ENDPOINT"
        raise SettingsError(f"{name}: {error}") from None
    deployments = settings.deployments
    if not deployments:
        raise SettingsError("AZURE_OPENAI_DEPLOYMENT (deployments): at least one deployment name is needed")
    if unknown := [d for d in settings.responses_deployments if d not in deployments]:
        raise SettingsError(
            f"CHAT_RESPONSES_DEPLOYMENTS names {shown(unknown[0])}, which is not among the "
            f"deployments ({', '.join(deployments)})"
        )
    if unknown := [d for d, _ in settings.reasoning_effort if d and d not in deployments]:
        raise SettingsError(
            f"CHAT_REASONING_EFFORT names {shown(unknown[0])}, which is not among the "
            f"deployments ({', '.join(deployments)})"
        )
    try:
        settings.presets  # noqa: B018 - read (and cached) here, so that a bad file stops start-up
    except ValueError as error:
        raise SettingsError(f"CHAT_PRESETS_FILE: {error}") from None
    if settings.default_preset is not None and settings.default_preset not in settings.presets.presets:
        raise SettingsError(
            f"CHAT_DEFAULT_PRESET names {shown(settings.default_preset)}, which is not a preset of CHAT_PRESETS_FILE"
        )
    if unknown := [name for name in settings.presets_allowed if name not in settings.presets.presets]:
        raise SettingsError(
            f"CHAT_PRESETS_ALLOWED names {shown(unknown[0])}, which is not a preset of CHAT_PRESETS_FILE"
        )
    if settings.presets_allowed and settings.default_preset not in (None, *settings.presets_allowed):
        raise SettingsError(
            f"CHAT_DEFAULT_PRESET names {shown(settings.default_preset)}, which is not among CHAT_PRESETS_ALLOWED"
        )
    for header in ("CHAT_TRUSTED_GROUPS_HEADER", "CHAT_TRUSTED_USER_HEADER"):
        if getattr(settings, header.removeprefix("CHAT_").lower()) and not settings.trusted_proxies:
            raise SettingsError(
                f"{header} needs CHAT_TRUSTED_PROXIES: the addresses of the proxies that set it "
                "(otherwise any client could send it)"
            )
    names = [name for name, _ in settings.named_tokens if name is not None]
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        raise SettingsError(f"CHAT_API_TOKENS names {shown(repeated[0])} more than once")
    if unknown := [a for a in settings.usage_admins if a.startswith("token:") and a[6:] not in names]:
        raise SettingsError(
            f"CHAT_USAGE_ADMINS names {shown(unknown[0])}, but no token in CHAT_API_TOKENS has that name"
        )
    if unknown := [a for a in settings.metrics_clients if a.startswith("token:") and a[6:] not in names]:
        raise SettingsError(
            f"CHAT_METRICS_CLIENTS names {shown(unknown[0])}, but no token in CHAT_API_TOKENS has that name"
        )
    if settings.proxy_secret and not settings.trusted_proxies:
        raise SettingsError("CHAT_PROXY_SECRET needs CHAT_TRUSTED_PROXIES: the addresses of the proxies that send it")
    if any(char in settings.frame_ancestors for char in ";,\r\n"):
        raise SettingsError("CHAT_FRAME_ANCESTORS must be a space-separated list of sources")
    if settings.max_message_chars > settings.max_total_chars:
        raise SettingsError(
            f"CHAT_MAX_MESSAGE_CHARS ({settings.max_message_chars}) must not exceed "
            f"CHAT_MAX_TOTAL_CHARS ({settings.max_total_chars})"
        )


settings_key = web.AppKey("settings_key", Settings)
