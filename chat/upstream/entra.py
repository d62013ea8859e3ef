"""Keyless sign-in to Azure OpenAI with Microsoft Entra ID, from the optional `azure` extra."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chat.config.settings import Settings
from chat.upstream import TokenProvider

SCOPE = "https://cognitiveservices.azure.com/.default"


@asynccontextmanager
async def entra_token_provider(settings: Settings) -> AsyncIterator[TokenProvider]:
    """A token provider backed by a managed identity (by client id) or DefaultAzureCredential; closed on exit."""
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential, get_bearer_token_provider

    if settings.managed_identity_client_id:
        credential = ManagedIdentityCredential(client_id=settings.managed_identity_client_id)
    else:
        credential = DefaultAzureCredential()
    async with credential:
        yield get_bearer_token_provider(credential, SCOPE)
