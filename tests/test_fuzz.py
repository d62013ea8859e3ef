"""Property-based fuzzing of the API body: any input gets a 200 stream or a clear 4xx, never a 5xx."""

from __future__ import annotations

import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .typedefs import Client

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
ROLES = st.sampled_from(["user", "assistant", "system", "tool", "User", "", "function"])
MESSAGES = st.dictionaries(
    st.sampled_from(["role", "content", "name", "tool_calls"]),
    ROLES | st.text(max_size=60) | JSON_VALUES,
    max_size=3,
) | st.fixed_dictionaries({"role": ROLES, "content": st.text(max_size=200) | JSON_VALUES})
BODIES = (
    JSON_VALUES
    | st.fixed_dictionaries({"messages": st.lists(MESSAGES, max_size=5)})
    | st.fixed_dictionaries(
        {"messages": st.lists(MESSAGES, min_size=1, max_size=3), "max_tokens": st.integers(-5, 10**9) | JSON_VALUES}
    )
)
# A fixed budget: the same examples on every run (derandomize), no time limit per example (a busy
# machine is not a failure). About 10 ms an example, nearly all of it Hypothesis's own work.
FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _check(client: Client, data: bytes, content_type: str) -> None:
    response = await client.post("/api/chat", data=io.BytesIO(data), headers={"Content-Type": content_type})
    text = (await response.read()).decode("utf-8")
    assert response.status < 500, text
    assert "Traceback" not in text
    if response.status == 200:
        assert response.content_type == "text/event-stream"
        assert text.rstrip("\n").rsplit("\n", 2)[-2] in ("event: done", "event: error")
    else:
        error = json.loads(text)["error"]
        assert isinstance(error["code"], str) and len(error["message"]) > 10


@FUZZ
@given(body=BODIES)
async def test_any_json_body(client: Client, body: object) -> None:
    await _check(client, json.dumps(body).encode(), "application/json")


@settings(FUZZ, max_examples=200)
@given(
    data=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=latin-1", "text/plain", "", "multipart/form-data"]
    ),
)
async def test_any_bytes(client: Client, data: bytes, content_type: str) -> None:
    await _check(client, data, content_type)
