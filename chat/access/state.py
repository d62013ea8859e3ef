"""What access control remembers between requests: failed sign-ins, refusals being counted, and
whether the untrusted-proxy warning has been given."""

from __future__ import annotations

import dataclasses
import logging

from aiohttp import web

from chat.access.sign_in_throttle import SignInThrottle
from chat.log.lines import RefusalLog


@dataclasses.dataclass
class AccessState:
    throttle: SignInThrottle = dataclasses.field(default_factory=SignInThrottle)
    refusals: RefusalLog = dataclasses.field(default_factory=lambda: RefusalLog(logging.getLogger("chat.access")))
    warned_about_proxy: bool = False


access_state_key = web.AppKey("access_state_key", AccessState)
