"""The model service: one SDK client, and each answer as an async iterator of typed events."""

from .client import TokenProvider, create_client
from .stream import CompletionStream

__all__ = ["CompletionStream", "TokenProvider", "create_client"]
