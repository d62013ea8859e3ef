"""Errors as values: each with a stable code, a message for people and an HTTP status, declared
once in `catalogue.py` and turned into a response in `response.py`."""

from chat.errors.chat_error import ChatError, ErrorCode, ErrorMessage
from chat.errors.response import error_response

__all__ = ["ChatError", "ErrorCode", "ErrorMessage", "error_response"]
