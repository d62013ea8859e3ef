"""`python -m chat`: start the chat server (the same as `chat-server` and `python server.py`)."""

import sys

from chat.run.cli import main

sys.exit(main())
