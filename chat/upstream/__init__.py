"""The model service: one SDK client, and each answer as an async iterator of typed events."""

from .client import TokenProvider, create_client
from .service import Upstream

__all__ = ["TokenProvider", "Upstream", "create_client"]
