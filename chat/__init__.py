"""A streaming chat server: Azure OpenAI completions relayed to the browser as Server-Sent Events.

The package's face: `create_app(settings)` builds the application, `Settings` holds what it is told,
`run_options(settings)` says how it must run, and `python -m chat` (or `chat-server`) starts it. The
rooms behind it, from the edge inwards: `run/` (the process), `edge/` (app factory, routes, pages,
connections), `relay/` (the chat handler), `access/` (who the client is), `accounting/` (outcome,
usage, quotas, metrics), `upstream/` (the model service), `state/` (open streams, Redis), `config/`
(settings and their files), `errors/` and `log/` (shared by all), and `simulator/`.
"""

from chat.config.settings import Settings, SettingsError
from chat.edge.app import create_app
from chat.run.process import run_options

__all__ = ["Settings", "SettingsError", "create_app", "run_options"]
