"""A streaming chat server: Azure OpenAI completions relayed to the browser as Server-Sent Events."""

from .app import LISTEN_BACKLOG, create_app, run_options
from .settings import Settings, SettingsError

__all__ = ["LISTEN_BACKLOG", "Settings", "SettingsError", "create_app", "run_options"]
