"""Share links: a read-only snapshot of a conversation kept on the server, at `/s/{token}` (128 random
bits), for those CHAT_SHARE lets in. The links in the database (`links.py`), the routes that make,
list and revoke them (`views.py`), and the page that shows one (`page.py`)."""
