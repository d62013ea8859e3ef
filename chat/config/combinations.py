"""The checks of settings taken together (each value alone is checked by its declaration): one line
naming the settings that do not go together."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chat.config.fields import BACKENDS, SettingsError, shown

if TYPE_CHECKING:
    from chat.config.settings import Settings


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
