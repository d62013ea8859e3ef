"""Every error the client can be told: each code once, with its HTTP status, its messages, when it
happens and what to do. Raise one as `ChatError(catalogue.NAME, field=value, ...)`.

The metrics' outcome labels (`chat.accounting.metrics`) and `docs/errors.md`
(`python -m chat.errors.document > docs/errors.md`) are made from `CODES` and `MESSAGES`.
A code's string, status and messages are an interface: the page, tests and tools read them.
"""

from __future__ import annotations

from chat.errors.chat_error import Declarations, ErrorCode, ErrorMessage

_declared = Declarations()
_code, _says, _one = _declared.code, _declared.says, _declared.one


# Before the stream: the request itself.
UNKNOWN_HOST = _one(
    "unknown_host",
    400,
    "This server does not answer to that host name. Ask the administrator to add it to CHAT_ALLOWED_HOSTS.",
    when="the request names a host this server does not answer to",
    what_to_do="Add the name to `CHAT_ALLOWED_HOSTS`.",
)
BAD_REQUEST = _one(
    "bad_request",
    400,
    "The request is not valid HTTP.",
    when="not valid HTTP: a request line, header or chunk the server cannot read (the connection is then closed)",
    what_to_do="Fix the client or proxy that sends it.",
)
INVALID_JSON = _one(
    "invalid_json",
    400,
    "The request body is not valid JSON.",
    when="the body is not JSON",
    what_to_do="Send the conversation as a JSON object.",
)
INVALID_REQUEST = _one(
    "invalid_request",
    400,
    "{detail}",
    when="unknown fields, bad roles, empty or non-text content, last message not the user's; "
    "for `/api/usage`, a parameter it does not take",
    what_to_do="Change what the message names.",
)
TOO_MANY_MESSAGES = _one(
    "too_many_messages",
    400,
    "The conversation has {count} messages; the limit is {limit}.",
    when="more messages than `CHAT_MAX_MESSAGES`",
    what_to_do="Start a new chat or remove earlier messages; or raise `CHAT_MAX_MESSAGES`.",
)
MESSAGE_TOO_LONG = _one(
    "message_too_long",
    400,
    "Message {position} has {length} characters; the limit is {limit}.",
    when="a message longer than `CHAT_MAX_MESSAGE_CHARS`",
    what_to_do="Shorten the message; or raise `CHAT_MAX_MESSAGE_CHARS`.",
)
_conversation_too_long = _code(
    "conversation_too_long",
    400,
    when="more characters in all than `CHAT_MAX_TOTAL_CHARS`, or more than the model's context",
    what_to_do="Start a new chat or remove earlier messages; or raise `CHAT_MAX_TOTAL_CHARS`.",
)
CONVERSATION_TOO_LONG = _says(
    _conversation_too_long,
    "The conversation has {total} characters; the limit is {limit}. Start a new chat or remove earlier messages.",
)
CONTEXT_TOO_LONG = _says(
    _conversation_too_long,
    "This conversation is too long for the model. Start a new chat or remove earlier messages.",
)
UNKNOWN_DEPLOYMENT = _one(
    "unknown_deployment",
    400,
    "Unknown deployment {name!r}; this chat offers {offered}.",
    when="a deployment the chat does not offer (`AZURE_OPENAI_DEPLOYMENT`, or the preset's)",
    what_to_do="Ask for one of the deployments the message lists.",
)
MAX_TOKENS_TOO_LARGE = _one(
    "max_tokens_too_large",
    400,
    "`max_completion_tokens` may be at most {ceiling} on this server.",
    when="`max_completion_tokens` over `CHAT_MAX_TOKENS`",
    what_to_do="Ask for fewer tokens; or raise `CHAT_MAX_TOKENS`.",
)
_content_filter = _code(
    "content_filter",
    400,
    when="Azure's content filter blocked the prompt (before the stream) or the rest of the answer (in the stream)",
    what_to_do="Rephrase the message.",
    in_stream=True,
)
PROMPT_FILTERED = _says(_content_filter, "Your message was blocked by the content filter. Rephrase it and send again.")
ANSWER_FILTERED = _says(_content_filter, "The rest of the answer was withheld by the content filter.")
UNKNOWN_PRESET = _one(
    "unknown_preset",
    400,
    "Unknown preset {name!r}.",
    when="a preset that `CHAT_PRESETS_FILE` does not define (the page answers 404)",
    what_to_do="Use a preset of `CHAT_PRESETS_FILE`, or add it there.",
)
SYSTEM_PROMPT_LOCKED = _one(
    "system_prompt_locked",
    400,
    "This chat has a fixed purpose: send your messages without a system message.",
    when="a system message where the system prompt is locked (`CHAT_SYSTEM_PROMPT_LOCKED`, or the preset's)",
    what_to_do="Send the conversation without a system message.",
)

REPEATED_HEADER = _one(
    "repeated_header",
    400,
    "The request carries a proxy's header more than once.",
    when="from a trusted proxy, two copies of a header only it may set (`X-Forwarded-For`, `X-Forwarded-Host`, "
    "`Forwarded`, `X-Chat-Proxy-Secret`, `CHAT_TRUSTED_USER_HEADER`, `CHAT_TRUSTED_GROUPS_HEADER`): a proxy "
    "that appends its own copy to a client's",
    what_to_do="Have the proxy replace the header (nginx: `proxy_set_header`), or join the values in one header.",
)

# Before the stream: who may ask.
UNAUTHORIZED = _one(
    "unauthorized",
    401,
    "Sign in to use this chat.",
    when="sign-in required (`CHAT_BASIC_AUTH`, `CHAT_API_TOKENS`, `CHAT_TRUSTED_USER_HEADER`) or wrong",
    what_to_do="Sign in, or send a token of `CHAT_API_TOKENS` as `Authorization: Bearer`.",
)
FORBIDDEN_ORIGIN = _one(
    "forbidden_origin",
    403,
    "Requests from other sites are not accepted. Ask the administrator to add this site to CHAT_ALLOWED_ORIGINS.",
    when="posted from another site's page",
    what_to_do="Add the site that embeds the chat to `CHAT_ALLOWED_ORIGINS`.",
)
FORBIDDEN_PRESET = _one(
    "forbidden_preset",
    403,
    "The preset {name!r} is not open to you.",
    when="a preset kept for groups the client is not in, or, in a chat pinned to some presets "
    "(`CHAT_PRESETS_ALLOWED`, `create_app(settings, preset=...)`), any other (the page answers 403)",
    what_to_do="Ask to be added to one of the preset's groups in `CHAT_PRESETS_FILE`; in a pinned chat, "
    "use the preset it is pinned to.",
)
_forbidden_deployment = _code(
    "forbidden_deployment",
    403,
    when="a deployment kept for groups the client is not in",
    what_to_do="Ask to be added to one of the deployment's groups in `CHAT_PRESETS_FILE`.",
)
NO_DEPLOYMENT_OPEN = _says(_forbidden_deployment, "None of this chat's models is open to you.")
FORBIDDEN_DEPLOYMENT = _says(_forbidden_deployment, "The deployment {name!r} is not open to you.")
FORBIDDEN = _one(
    "forbidden",
    403,
    "Only usage administrators may see everyone's use. Ask to be added to CHAT_USAGE_ADMINS.",
    when="`/api/usage?scope=all` from someone not in `CHAT_USAGE_ADMINS`",
    what_to_do="Ask to be added to `CHAT_USAGE_ADMINS`.",
)
FORBIDDEN_METRICS = _one(
    "forbidden_metrics",
    403,
    "Only the clients of CHAT_METRICS_CLIENTS may read the metrics.",
    when="`/metrics` from a client not in `CHAT_METRICS_CLIENTS` (unset: none once sign-in is on; else a "
    "request from this machine only)",
    what_to_do="Add the scraper's token (`token:NAME`), user or network to `CHAT_METRICS_CLIENTS`.",
)
REQUEST_TIMEOUT = _one(
    "request_timeout",
    408,
    "The message took too long to arrive. Send it again.",
    when="the body took longer than `CHAT_BODY_TIMEOUT`",
    what_to_do="Send it again; or raise `CHAT_BODY_TIMEOUT` for slow networks.",
)
BODY_TOO_LARGE = _one(
    "body_too_large",
    413,
    "The request body is larger than {limit} bytes.",
    when="body over `CHAT_MAX_BODY_BYTES`",
    what_to_do="Send a shorter conversation; or raise `CHAT_MAX_BODY_BYTES`.",
)
UNSUPPORTED_MEDIA_TYPE = _one(
    "unsupported_media_type",
    415,
    "Send the conversation as application/json.",
    when="not `application/json`",
    what_to_do="Send `Content-Type: application/json`.",
)
HEADERS_TOO_LARGE = _one(
    "headers_too_large",
    431,
    "The request's headers are larger than {limit} bytes.",
    when="request headers over 32 KiB in all",
    what_to_do="Send fewer or shorter headers (often: cookies of other apps on the same host).",
)

# Before the stream: how much.
_rate_limited = _code(
    "rate_limited",
    429,
    when="the model service's rate limit outlasted the retries, or ours (`CHAT_REQUESTS_PER_MINUTE`); "
    "`Retry-After` header and `retry_after` field",
    what_to_do="Try again after `retry_after` seconds.",
    in_stream=True,
)
UPSTREAM_RATE_LIMITED = _says(_rate_limited, "The model service is busy. Try again in {retry_after} seconds.")
RATE_LIMITED = _says(
    _rate_limited, "You have sent {amount} messages in the last minute. Try again in {retry_after} seconds."
)
_too_many_streams = _code(
    "too_many_streams",
    429,
    when="the client already has `CHAT_MAX_STREAMS_PER_CLIENT` answers streaming, or as many readers of resumable "
    "answers open on one process (`GET /api/answers/{id}`); `Retry-After`",
    what_to_do="Wait for an answer to finish, or stop one; close another tab that follows the answer.",
)
TOO_MANY_STREAMS = _says(
    _too_many_streams, "You already have {held} answers streaming. Wait for one to finish or stop it."
)
TOO_MANY_READERS = _says(
    _too_many_streams, "You already follow {held} answers. Close another tab that shows one and try again."
)
_server_busy = _code(
    "server_busy",
    503,
    when="the server already streams `CHAT_MAX_STREAMS` answers, or as many as its open-file limit holds (two "
    "descriptors each, and a spare), or a connection to the model service found no descriptor left; `Retry-After`",
    what_to_do="Try again after `retry_after` seconds; or raise `CHAT_MAX_STREAMS` or the service's open-file limit "
    "(`LimitNOFILE`), or add workers.",
)
SERVER_BUSY = _says(_server_busy, "The server is answering as many chats as it can. Try again in a few seconds.")
SERVER_OUT_OF_DESCRIPTORS = _says(
    _server_busy, "The server has no room for another connection right now. Try again in a few seconds."
)
_quota_exceeded = _code(
    "quota_exceeded",
    429,
    when="the client's daily tokens (`CHAT_TOKENS_PER_DAY`, `CHAT_TOKEN_QUOTAS`) are spent, or the rest is "
    "reserved by its answers in progress (each reserves its prompt and its token ceiling until it ends); "
    "`Retry-After`",
    what_to_do="Wait until the quota renews (`CHAT_QUOTA_RESET`), or until the answers in progress end (a "
    "smaller `max_completion_tokens` reserves less); or raise the client's quota.",
)
QUOTA_EXCEEDED = _says(
    _quota_exceeded, "You have used your {limit:,} tokens for today. They renew at {resets_at:%H:%M} UTC, in {wait}."
)
QUOTA_RESERVED = _says(
    _quota_exceeded,
    "Your answers in progress may use the rest of your {limit:,} tokens for today. Try again when they end.",
)
TOO_MANY_SIGN_IN_ATTEMPTS = _one(
    "too_many_sign_in_attempts",
    429,
    "Too many failed sign-ins. Try again in {retry_after} seconds.",
    when="too many failed sign-ins from this address network, or for this user name from it; `Retry-After`",
    what_to_do="Wait, then sign in with the right credentials.",
)

# The model service, before the stream or in it.
_upstream_unavailable = _code(
    "upstream_unavailable",
    502,
    when="the model service cannot be reached (refused, dropped, a host that does not resolve) or answered 5xx",
    what_to_do="Try again; if it lasts, check the endpoint (`AZURE_OPENAI_ENDPOINT`, `OPENAI_BASE_URL` "
    "or `CHAT_ENDPOINTS_FILE`) and the service's status.",
    in_stream=True,
)
UPSTREAM_UNREACHABLE = _says(_upstream_unavailable, "The model service cannot be reached. Try again in a moment.")
UPSTREAM_UNRESOLVED = _says(
    _upstream_unavailable,
    "The model service's host name {host} cannot be resolved. Ask the administrator to check {setting}.",
)
UPSTREAM_FAILED = _says(_upstream_unavailable, "The model service had a problem. Try again in a moment.")
UPSTREAM_LOST = _says(_upstream_unavailable, "The connection to the model service was lost. Try again.")
ANSWER_OWNER_LOST = _says(_upstream_unavailable, "The server writing this answer has stopped. Send your message again.")
_upstream_error = _code(
    "upstream_error",
    502,
    when="the model service refused our credentials, deployment or API version, or broke off or garbled an answer "
    "(a line or event over 4 MiB among them: the answer is stopped and the upstream request closed)",
    what_to_do="Change the setting the message names; otherwise try again.",
    in_stream=True,
)
UPSTREAM_KEY_REFUSED = _says(
    _upstream_error,
    "The server's credentials for the model service were refused. Ask the administrator to check {setting}.",
)
UPSTREAM_DEPLOYMENT_NOT_FOUND = _says(
    _upstream_error,
    "The model deployment {deployment!r} was not found. Ask the administrator to check {setting}.",
)
UPSTREAM_API_VERSION = _says(
    _upstream_error,
    "This model needs a newer API version. Ask the administrator "
    "to unset AZURE_OPENAI_API_VERSION (the v1 API) or set 2024-12-01-preview or later.",
)
UPSTREAM_SIGN_IN_FAILED = _says(
    _upstream_error,
    "The server could not sign in to the model service. Ask the administrator to check its credentials.",
)
UPSTREAM_REFUSED = _says(_upstream_error, "The model service refused the request.")
UPSTREAM_STOPPED = _says(_upstream_error, "The model service stopped with an error. Try again.")
UPSTREAM_UNREADABLE = _says(_upstream_error, "The model service sent a reply this server could not read.")
UPSTREAM_ENDED_EARLY = _says(_upstream_error, "The model service ended the answer early. Try again.")
UPSTREAM_TOO_LARGE = _says(
    _upstream_error,
    "The model service sent a line or event larger than {limit}, more than this server accepts, so the answer "
    "was stopped. Try again.",
)
OPERATION_NOT_SUPPORTED = _one(
    "operation_not_supported",
    502,
    "This model works only through the Responses API. "
    "Ask the administrator to add its deployment to CHAT_RESPONSES_DEPLOYMENTS.",
    when="the deployment's model has no Chat Completions",
    what_to_do="Add the deployment to `CHAT_RESPONSES_DEPLOYMENTS`.",
)
_upstream_timeout = _code(
    "upstream_timeout",
    504,
    when="no answer in time (`CHAT_CONNECT_TIMEOUT`, `CHAT_FIRST_TOKEN_TIMEOUT`), or a stall mid-answer "
    "(`CHAT_READ_TIMEOUT`)",
    what_to_do="Try again; if it lasts, check the model service's status.",
    in_stream=True,
)
UPSTREAM_TIMEOUT = _says(_upstream_timeout, "The model service did not answer in time. Try again.")
UPSTREAM_STALLED = _says(_upstream_timeout, "The model service stopped sending. Try again.")

# Resumable answers (`GET /api/answers/{id}`, `POST /api/answers/{id}/stop`).
ANSWER_NOT_FOUND = _one(
    "answer_not_found",
    404,
    "There is no such answer here: it ended more than a resume window ago, or it is not yours.",
    when="an answer id that is unknown, expired (`CHAT_RESUME_WINDOW` after its end or its last reader), or asked "
    "for by another client or without its secret: all answered alike",
    what_to_do="Send the message again.",
)

# Conversations kept on the server (`/api/conversations`).
HISTORY_IN_BROWSER = _one(
    "history_in_browser",
    403,
    "This server keeps conversations only for signed-in clients; yours stay in this browser.",
    when="an anonymous client asks for `/api/conversations`: only basic-auth users, trusted-proxy users and named "
    "API tokens keep history on the server",
    what_to_do="Sign in, or keep history in the browser.",
)
HISTORY_OFF = _one(
    "history_off",
    404,
    "This server keeps no conversations (CHAT_HISTORY=browser): history stays in each browser.",
    when="`CHAT_HISTORY=browser`: the server keeps nobody's conversations",
    what_to_do="Keep history in the browser; or set `CHAT_HISTORY=server`.",
)
CONVERSATION_NOT_FOUND = _one(
    "conversation_not_found",
    404,
    "There is no such conversation here.",
    when="a conversation id that is unknown, deleted, or another client's: all answered alike",
    what_to_do="List the conversations again (`GET /api/conversations`).",
)
CONVERSATION_CHANGED = _one(
    "conversation_changed",
    412,
    "The conversation was changed elsewhere since you read it. Read it again, merge, and write it back.",
    when="a write whose `If-Match` names an ETag the conversation no longer has (another tab or device wrote it, "
    "or it was deleted)",
    what_to_do="Read it again (its `ETag` is in the answer), merge, and send the write with the new ETag.",
)
TOO_MANY_CONVERSATIONS = _one(
    "too_many_conversations",
    400,
    "You keep {limit} conversations on this server, the most it keeps for one person. Delete some to make room.",
    when="a new conversation beyond `CHAT_MAX_CONVERSATIONS` of the client's",
    what_to_do="Delete old conversations; or raise `CHAT_MAX_CONVERSATIONS`.",
)
HISTORY_UNAVAILABLE = _one(
    "history_unavailable",
    503,
    "Conversations cannot be read or saved just now. Chat goes on; try again in a moment.",
    when="the database does not answer (a PostgreSQL server away, a disk full)",
    what_to_do="Try again; if it lasts, check the database (`CHAT_DATABASE_URL` or `CHAT_DATA_DIR`).",
)

# Share links (`POST /api/conversations/{id}/share`, `/api/shares`, `/s/{token}`).
SHARE_NOT_FOUND = _one(
    "share_not_found",
    404,
    "There is no such share link here: it was revoked, it expired, or it never existed.",
    when="a share token that is unknown, revoked, expired, or another client's (for `DELETE /api/shares/{token}`): "
    "all answered alike",
    what_to_do="Ask whoever shared it for a new link; list your own with `GET /api/shares`.",
)
SHARING_OFF = _one(
    "sharing_off",
    403,
    "This server makes no share links (CHAT_SHARE=off).",
    when="`CHAT_SHARE=off`: no link can be made, and none opens",
    what_to_do="Export the conversation instead; or set `CHAT_SHARE=team`.",
)
TOO_MANY_SHARES = _one(
    "too_many_shares",
    400,
    "You have {limit} share links on this server, the most it keeps for one person. Revoke some to make room.",
    when="a share link beyond the 1,000 a client may have",
    what_to_do="Revoke old links (`DELETE /api/shares/{token}`).",
)

# The server.
SERVER_SHUTDOWN = _one(
    "server_shutdown",
    503,
    "The server is restarting. Send your message again in a moment.",
    when="the server is stopping (SIGTERM, SIGINT): before the stream, or as its last event",
    what_to_do="Send the message again.",
    in_stream=True,
)

CODES: tuple[ErrorCode, ...] = tuple(_declared.codes)
MESSAGES: tuple[ErrorMessage, ...] = tuple(_declared.messages)
