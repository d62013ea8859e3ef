"""The private names of the libraries (aiohttp, asyncio, httpx2 and the openai SDK) that the server
uses, all in `private_api`: nothing else in `chat/` touches them, and tests/test_private_api.py
fails when an upgrade moves one."""
