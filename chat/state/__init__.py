"""State of the running server that may be shared through Redis: the open streams and the link to
Redis itself."""
