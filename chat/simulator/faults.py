"""What can go wrong, on demand: refusals before the stream, and breakage at a chosen chunk."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable

from aiohttp import web

from chat.simulator.wire import error_response


class Fault(enum.Enum):
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After before the stream
    SERVER_ERROR = "server_error"  # 500 before the stream
    PROMPT_FILTERED = "prompt_filtered"  # 400 content_filter on the prompt
    DEPLOYMENT_NOT_FOUND = "deployment_not_found"  # 404 DeploymentNotFound: no deployment of that name
    CONTENT_FILTER_FINISH = "content_filter_finish"  # stream ends with finish_reason content_filter
    ERROR_EVENT = "error_event"  # an {"error": ...} event mid-stream
    DROP = "drop"  # connection dropped mid-stream
    STALL = "stall"  # goes silent mid-stream until the caller hangs up
    GARBAGE = "garbage"  # bytes that are not a chunk
    ODD_CHUNK = "odd_chunk"  # valid JSON of an unexpected shape


@dataclasses.dataclass
class PlannedFault:
    fault: Fault
    after_chunks: int = 3
    retry_after_ms: int = 1000


def _rate_limited(planned: PlannedFault) -> web.Response:
    return error_response(
        429,
        "429",
        "Requests have exceeded the token rate limit of your current tier. Please retry after 1 second.",
        headers={
            "retry-after": str(max(1, planned.retry_after_ms // 1000)),
            "retry-after-ms": str(planned.retry_after_ms),
        },
    )


# The faults that replace the whole stream with an error answer.
REFUSALS: dict[Fault, Callable[[PlannedFault], web.Response]] = {
    Fault.RATE_LIMITED: _rate_limited,
    Fault.SERVER_ERROR: lambda _: error_response(
        500, "InternalServerError", "The server had an error while processing your request."
    ),
    Fault.PROMPT_FILTERED: lambda _: error_response(
        400,
        "content_filter",
        "The response was filtered due to the prompt triggering the content management policy.",
        innererror={"code": "ResponsibleAIPolicyViolation"},
    ),
    Fault.DEPLOYMENT_NOT_FOUND: lambda _: error_response(
        404,
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the deployment within the last 5 "
        "minutes, please wait a moment and try again.",
    ),
}
