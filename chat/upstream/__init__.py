"""The model service: one SDK client per endpoint, and each answer as an async iterator of typed events."""

from .client import TokenProvider, create_client
from .pool import Endpoint, EndpointPool
from .service import Upstream

__all__ = ["Endpoint", "EndpointPool", "TokenProvider", "Upstream", "create_client"]
