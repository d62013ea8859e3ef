"""For a program that starts servers as its own child processes (the tests, the benchmark): a free
loopback port to give one, and an environment that holds none of the shell's settings."""

from __future__ import annotations

import os
import socket

from chat.config.settings import environment_names

# Besides the settings' own variables: read by the SDK itself (OPENAI_ORG_ID, OPENAI_LOG, ...).
SETTING_PREFIXES = ("AZURE_OPENAI_", "OPENAI_", "CHAT_", "SIMULATOR_")


def environment_without_settings() -> dict[str, str]:
    """This process's environment minus every variable a server reads (HOST and PORT too): a server
    started with it runs on its defaults and on what it is given, whatever the shell has set."""
    settings = set(environment_names())
    return {
        name: value
        for name, value in os.environ.items()
        if name not in settings and not name.startswith(SETTING_PREFIXES)
    }


def free_port() -> int:
    """A loopback TCP port that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
