"""Errors as values: each with a stable code, a message for people and an HTTP status."""

from chat.errors.chat_error import ChatError

__all__ = ["ChatError"]
