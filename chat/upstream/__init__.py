"""The model service: one SDK client per endpoint, and each answer as an async iterator of typed events."""

from chat.upstream.client import TokenProvider, create_client
from chat.upstream.pool import Endpoint, EndpointPool
from chat.upstream.service import Upstream

__all__ = ["Endpoint", "EndpointPool", "TokenProvider", "Upstream", "create_client"]
