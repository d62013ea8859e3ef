"""Start the chat server from a checkout: `python server.py [--host H] [--port P]` (installed: `chat-server`)."""

import sys

from chat.run.cli import main

if __name__ == "__main__":
    sys.exit(main())
