"""The settings of the model service: which one, which deployments, how they are asked. A part of
`Settings` (chat/config/settings.py); each field's annotation is its type, `setting(...)` its
variable, bounds and meaning (docs/settings.md is generated from them)."""

from __future__ import annotations

import dataclasses

from chat.config import values as v
from chat.config.fields import setting
from chat.config.values import DEFAULT_SYSTEM_PROMPT, REASONING_EFFORTS, SIMULATOR_MODELS, V1

_AZURE = "https://NAME.openai.azure.com"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelSettings:
    # Without an endpoint: the built-in simulator.
    endpoint: str | None = setting(
        None, "AZURE_OPENAI_ENDPOINT", section="The model service", openai_env="OPENAI_BASE_URL",
        help=f"e.g. `{_AZURE}`, or several, comma-separated, in priority order: the next is asked at once when "
        "one is throttled or failing (see [operations](operations.md#running-it-for-a-team)); unset (and no "
        "`OPENAI_BASE_URL`): the built-in simulator. The portal's full target URI works too: the resource, "
        "deployment and api-version are taken from it",
        openai_help="any OpenAI-compatible server instead of Azure: OpenAI, vLLM, Ollama, llama.cpp "
        "(e.g. `http://127.0.0.1:11434/v1`)",
    )  # fmt: skip
    api_key: str | None = setting(
        None, "AZURE_OPENAI_API_KEY", openai_env="OPENAI_API_KEY", repr=False,
        help="the key, for every endpoint, or one per endpoint in the same order; when unset, sign-in uses "
        "Microsoft Entra ID (`pip install '.[azure]'`)",
        openai_help="its key, if it needs one",
    )  # fmt: skip
    endpoints_file: str | None = setting(
        None, "CHAT_ENDPOINTS_FILE", only="azure",
        help="instead of the two above: a TOML file of endpoints with priorities, weights, keys (or the variables "
        "holding them, from the environment or `.env`) and deployment names of their own (format in "
        "`chat/config/endpoints.py`)",
    )  # fmt: skip
    managed_identity_client_id: str | None = setting(
        None, "AZURE_OPENAI_MANAGED_IDENTITY_CLIENT_ID", only="azure",
        help="Entra ID through this managed identity; otherwise `DefaultAzureCredential`",
    )  # fmt: skip
    api_version: str = setting(
        V1, "AZURE_OPENAI_API_VERSION", aliases=("OPENAI_API_VERSION",), only="azure", check=v.api_version,
        help=f"`v1`: Azure's versionless v1 API (`{_AZURE}/openai/v1/`; the endpoint may name that path itself). "
        "A date (`2025-04-01-preview`) selects the classic `/openai/deployments/` path; reasoning models need "
        f"`{v.REASONING_API_VERSION}` or later there, and the server warns at start-up about an older one",
    )  # fmt: skip
    deployments: tuple[str, ...] = setting(
        tuple(SIMULATOR_MODELS.values()), "AZURE_OPENAI_DEPLOYMENT", check=v.deployment_name,
        openai_env="OPENAI_MODEL", shown_default="required with an endpoint",
        help="a deployment, or a comma-separated list (the first is the default; the page offers the others)",
        openai_help="a model, or a comma-separated list",
    )  # fmt: skip
    responses_deployments: tuple[str, ...] = setting(
        (), "CHAT_RESPONSES_DEPLOYMENTS", check=v.deployment_name,
        help="deployments served through the Responses API, comma-separated: the models that have no Chat "
        "Completions (gpt-5-codex, gpt-5-pro, codex-mini). Conversations are sent with `store: false`",
    )  # fmt: skip
    # (deployment, effort); the deployment "" for all.
    reasoning_effort: tuple[tuple[str, str], ...] = setting(
        (), "CHAT_REASONING_EFFORT", check=v.reasoning_effort, shown_default="unset (the model's default)",
        help=f"{', '.join(f'`{e}`' for e in REASONING_EFFORTS)} for every deployment, and/or `deployment=effort` "
        "pairs, e.g. `low,o3=high`. A deployment that refuses it is asked again without it",
    )  # fmt: skip
    max_tokens_parameter: str = setting(
        "max_tokens", "OPENAI_MAX_TOKENS_PARAMETER", only="openai", check=v.one_of(v.MAX_TOKENS_PARAMETERS),
        help="how an OpenAI-compatible server names the answer's token ceiling: `max_tokens` (vLLM, Ollama, "
        "llama.cpp) or `max_completion_tokens` (OpenAI). Azure is always sent `max_completion_tokens`",
    )  # fmt: skip
    system_prompt: str = setting(
        DEFAULT_SYSTEM_PROMPT, "CHAT_SYSTEM_PROMPT", strip=False,
        help="added when the conversation has no system message",
    )  # fmt: skip
    system_prompt_locked: bool = setting(
        False, "CHAT_SYSTEM_PROMPT_LOCKED",
        help="`true`: the server's system prompt always applies; a request with its own system message gets 400 "
        "`system_prompt_locked` (for a chat embedded in a tool with a fixed purpose)",
    )  # fmt: skip
    presets_file: str | None = setting(
        None, "CHAT_PRESETS_FILE",
        help="a TOML file of named presets (title, welcome text, suggested prompts, a locked system prompt, "
        "deployments, token ceiling, reasoning effort, groups) and of which groups may use which deployment "
        "(see [embedding](embedding.md#presets))",
    )  # fmt: skip
    default_preset: str | None = setting(
        None, "CHAT_DEFAULT_PRESET", check=v.preset_name,
        help="the preset of `/`, `/embed` and of API requests that name none: a default, not a boundary (a "
        "request may name another preset); `create_app(settings, preset=...)` sets it, and pins it, for a mounted "
        "app",
    )  # fmt: skip
    presets_allowed: tuple[str, ...] = setting(
        (), "CHAT_PRESETS_ALLOWED", check=v.preset_name, shown_default="unset: any preset",
        help="pinned mode: the only presets a request or page may name, comma-separated; any other gets 403 "
        "`forbidden_preset` (a 403 page in `/embed` and `/`), and one that names none gets `CHAT_DEFAULT_PRESET` "
        "(which must be among them), else the first of them (see [embedding](embedding.md#defaults-and-pinning))",
    )  # fmt: skip

    connect_timeout: float = setting(
        10.0, "CHAT_CONNECT_TIMEOUT", 0.1, 600, section="Talking to the model service",
        help="seconds to connect to the upstream",
    )  # fmt: skip
    first_token_timeout: float = setting(
        600.0, "CHAT_FIRST_TOKEN_TIMEOUT", 0.1, 86_400,
        help="seconds the model may think silently before its first token (reasoning models often take minutes); "
        "pings keep the stream open meanwhile",
    )  # fmt: skip
    read_timeout: float = setting(
        60.0, "CHAT_READ_TIMEOUT", 0.1, 3600,
        help="longest upstream silence (seconds) once the answer has begun, before `upstream_timeout`",
    )  # fmt: skip
    max_retries: int = setting(
        2, "CHAT_MAX_RETRIES", 0, 10, help="SDK retries of 408/409/429/5xx before the first byte"
    )
    ping_interval: float = setting(
        15.0, "CHAT_PING_INTERVAL", 0.05, 3600, help="seconds of silence before a `: ping` comment"
    )
    max_tokens: int | None = setting(
        None, "CHAT_MAX_TOKENS", 1, 1_000_000, shown_default=f"unset: a ceiling of {v.DEFAULT_TOKEN_CEILING}",
        help="ceiling of a request's `max_completion_tokens`, and, when set, the value sent when a request names "
        "none (unset: such requests get the model's own default)",
    )  # fmt: skip
