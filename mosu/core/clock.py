"""The one clock: times are stored in UTC and every "today" is Beijing time (Asia/Shanghai).

A district's deadlines, voucher periods and reports all fall on Shanghai dates, whatever
zone the server runs in, so no module calls ``date.today()`` or a naive ``datetime.now()``.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    """The current moment, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def today(at: dt.datetime | None = None) -> dt.date:
    """Today's date in Beijing time (``at`` for tests)."""
    return (at or now()).astimezone(SHANGHAI).date()


def local(moment: dt.datetime) -> dt.datetime:
    """A stored time in Beijing time; a naive one is taken as UTC (SQLite drops the zone)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(SHANGHAI)


def from_timestamp(seconds: float) -> dt.datetime:
    """A POSIX timestamp (a log record's ``created``) as a moment in UTC."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
