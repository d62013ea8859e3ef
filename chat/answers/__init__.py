"""Answers kept on the server for a reader that comes back (`"resumable": true`): the numbered events
of each answer (`log.py`), who may read it (`secret.py`), how long it goes on with nobody reading
(`window.py`), the task that writes it (`running.py`), the answers of this process (`local.py`) and,
with CHAT_REDIS_URL, their copy in Redis that every process reads and stops (`shared.py`); the routes
`GET /api/answers/{id}` and `POST /api/answers/{id}/stop` and the resumable `POST /api/chat` (`views.py`).

A finished answer is told to whoever registered with `LocalAnswers.on_finished` (the conversation store
can keep it from there)."""
