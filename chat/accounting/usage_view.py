"""`GET /api/usage`: the client's own use today and this month, as JSON; everyone's, for a day or a
month, as JSON or CSV, for the administrators named in CHAT_USAGE_ADMINS.

    /api/usage                                  own use: {"client", "today", "month"}
    /api/usage?scope=all                        everyone's today
    /api/usage?scope=all&day=2026-11-24         a day
    /api/usage?scope=all&month=2026-11&format=csv
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import datetime
import io
import re
from collections.abc import Mapping

import orjson
from aiohttp import web

from chat.access.client_access import client_access_key
from chat.accounting.quota import quota_key
from chat.accounting.usage import Usage, UsageRow, summed, usage_key
from chat.config.settings import settings_key
from chat.errors import catalogue, error_response
from chat.errors.chat_error import ChatError

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MONTH = re.compile(r"\d{4}-\d{2}")
PARAMETERS = frozenset({"scope", "format", "day", "month"})
# A spreadsheet may read a formula at the start of any piece of a cell it splits at its own list
# separator (`;` in many locales, or a tab, `,`, `|`): a client name is the client's to choose (a
# user name from a header, `ada;=HYPERLINK(...)`), so each text cell is quoted and each = + - @
# that begins it or follows a separator (after any spaces or quotes) is made text by a ' after the
# separator.
FORMULA_START = re.compile(r"""(^|[,;\t|\r\n])([\s"']*)(?=[=+\-@])""")
COUNTS = tuple(Usage().all.as_dict())
CSV_COLUMNS = ("period", "client", "deployment", *COUNTS, *(f"estimated_{name}" for name in COUNTS))
NO_STORE = {"Cache-Control": "no-store"}


@dataclasses.dataclass(frozen=True)
class Period:
    name: str  # 2026-11-24 or 2026-11
    since: datetime.date
    until: datetime.date

    @classmethod
    def day(cls, day: datetime.date) -> Period:
        return cls(day.isoformat(), day, day)

    @classmethod
    def month(cls, day: datetime.date) -> Period:
        last = calendar.monthrange(day.year, day.month)[1]
        return cls(day.strftime("%Y-%m"), day.replace(day=1), day.replace(day=last))

    def holds(self, row: UsageRow) -> bool:
        return self.since <= row.day <= self.until


async def get_usage(request: web.Request) -> web.Response:
    try:
        return await _usage(request)
    except ChatError as error:
        return error_response(error)


async def _usage(request: web.Request) -> web.Response:
    query = request.query
    if set(query) - PARAMETERS:
        raise _invalid("Unknown parameter: this takes scope, format, day and month.")
    accounting = request.app[usage_key]
    today = accounting.today()
    client = request[client_access_key].client
    if query.get("scope", "own") == "own":
        if set(query) - {"scope"}:
            raise _invalid("Your own use is for today and this month; day, month and format go with scope=all.")
        month = Period.month(today)
        rows = await accounting.store.for_client(client, month.since)
        own: dict[str, object] = {
            "client": client,
            "today": _summary(Period.day(today), rows),
            "month": _summary(month, rows),
        }
        if quota := await request.app[quota_key].state(client):
            own["quota"] = quota.as_dict()  # the daily budget: limit, used, when it renews
        return _json(own)
    if query["scope"] != "all":
        raise _invalid("scope is own (the default) or all.")
    if client not in request.app[settings_key].usage_admins:
        raise ChatError(catalogue.FORBIDDEN)
    if (form := query.get("format", "json")) not in ("json", "csv"):
        raise _invalid("format is json (the default) or csv.")
    period = _period(query, today)
    rows = [row for row in await accounting.store.all(period.since) if period.holds(row)]
    sums = sorted(summed(rows).items())
    if form == "csv":
        return _csv(period, sums)
    total = Usage()
    for _, usage in sums:
        total.merge(usage)
    return _json(
        {
            "period": period.name,
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "total": total.as_dict(),
            "rows": [{"client": c, "deployment": d, **usage.as_dict()} for (c, d), usage in sums],
        }
    )


def _period(query: Mapping[str, str], today: datetime.date) -> Period:
    if "day" in query and "month" in query:
        raise _invalid("Give a day or a month, not both.")
    try:
        if "day" in query:
            if not DAY.fullmatch(query["day"]):
                raise ValueError
            return Period.day(datetime.date.fromisoformat(query["day"]))
        if "month" in query:
            if not MONTH.fullmatch(query["month"]):
                raise ValueError
            return Period.month(datetime.date.fromisoformat(query["month"] + "-01"))
    except ValueError:
        raise _invalid("day is written 2026-11-24 and month 2026-11 (UTC).") from None
    return Period.day(today)


def _summary(period: Period, rows: list[UsageRow]) -> dict[str, object]:
    """The client's use in `period`, in all and per deployment."""
    total = Usage()
    deployments: dict[str, Usage] = {}
    for row in rows:
        if period.holds(row):
            total.merge(row.usage)
            deployments.setdefault(row.deployment, Usage()).merge(row.usage)
    return {
        "since": period.since.isoformat(),
        **total.as_dict(),
        "deployments": {name: usage.as_dict() for name, usage in sorted(deployments.items())},
    }


def _csv(period: Period, sums: list[tuple[tuple[str, str], Usage]]) -> web.Response:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)  # text quoted, counts not
    writer.writerow(CSV_COLUMNS)
    for (client, deployment), usage in sums:
        counts = [*usage.all.as_dict().values(), *usage.estimated.as_dict().values()]
        writer.writerow([_text_cell(period.name), _text_cell(client), _text_cell(deployment), *counts])
    return web.Response(
        text=text.getvalue(),
        content_type="text/csv",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="usage-{period.name}.csv"'},
    )


def _text_cell(text: str) -> str:
    return FORMULA_START.sub(r"\1'\2", text)


def _json(body: object) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json", headers=NO_STORE)


def _invalid(message: str) -> ChatError:
    return ChatError(catalogue.INVALID_REQUEST, detail=message)
