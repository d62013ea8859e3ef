"""Conversations kept on the server for signed-in clients: the database (`database.py`, SQLite in
CHAT_DATA_DIR or PostgreSQL at CHAT_DATABASE_URL), its numbered migrations (`schema.py`), the
repository of each client's conversations (`repository.py`), what a client may write (`drafts.py`),
the store the app holds, which keeps each question and answer as the answer ends
(`store.py`: `ConversationStore.answer_ended`), and the routes of `/api/conversations` (`views.py`)."""
