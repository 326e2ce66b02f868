"""How the pages write times and amounts: one clock and one way of reading money.

* Times: stored in UTC, always shown in Beijing time (Asia/Shanghai), whatever the server's
  zone; in Chinese as ``2026年3月2日 08:30``, in English as ``2026-03-02 08:30``. A stored time
  may come as a ``datetime`` (naive ones are UTC: SQLite drops the zone) or as ISO text (the
  JSON of a check or an audit entry).
* Amounts: from ¥10,000 on, the Chinese pages read them in 万 (tens of thousands of yuan:
  ``1,234,567.89`` yuan is ``123.46万``) in table cells and chart axes; the exact figure is the
  cell's ``title`` (shown on hover) and stays exact in every export. English pages, and
  smaller amounts, show the exact figure.
* Punctuation around a label or an aside: full-width in Chinese (``发榜单位：``, ``（HTML）``),
  ASCII with a space in English (``Issuer: ``, `` (HTML)``).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

from mosu.core import clock
from mosu.core.money import FEN_PER_YUAN, fmt_yuan
from mosu.i18n import Language

WAN_FEN = 10_000 * FEN_PER_YUAN
"""¥10,000 in fen: from here on an amount reads in 万 in Chinese."""
NO_TIME = "—"


def beijing(moment: dt.datetime | str) -> dt.datetime:
    """A stored moment (a ``datetime``, or ISO text) in Beijing time."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return clock.local(moment)


def when(moment: dt.datetime | str | None, lang: Language) -> str:
    """A stored moment as the reader's language writes a Beijing wall-clock time."""
    if moment is None or moment == "":
        return NO_TIME
    at = beijing(moment)
    if lang == "zh":
        return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"
    return f"{at:%Y-%m-%d %H:%M}"


def wan(yuan: Decimal | float | int) -> str:
    """An amount of yuan in 万, to two decimals without trailing zeros: ``123.46万``."""
    tens = (Decimal(str(yuan)) / 10_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{tens:,.2f}".rstrip("0").rstrip(".")
    return f"{text}万"


def money(fen: int | None, lang: Language, *, cents: bool = True) -> Markup:
    """An amount (fen) for a table cell: in 万 in Chinese from ¥10,000 on, with the exact
    yuan as the ``title``; otherwise the exact figure."""
    if fen is None:
        return Markup(NO_TIME)
    exact = fmt_yuan(fen, cents=cents)
    if lang != "zh" or abs(fen) < WAN_FEN:
        return Markup(escape(exact))
    shown = wan(Decimal(fen) / FEN_PER_YUAN)
    return Markup('<span class="money" title="{} 元">{}</span>').format(exact, shown)


def money_axis(values: list[float], lang: Language) -> tuple[list[float], bool]:
    """A chart's amounts (yuan) as its axis shows them: in 万 in Chinese when the largest
    reaches ¥10,000 (and ``True``), else as they are."""
    if lang != "zh" or not values or max(abs(v) for v in values) < 10_000:
        return values, False
    return [v / 10_000 for v in values], True


__all__ = ["WAN_FEN", "beijing", "money", "money_axis", "wan", "when"]


def colon(lang: Language) -> str:
    """What follows a label: ``：`` in Chinese, ``": "`` in English."""
    return "：" if lang == "zh" else ": "


def paren(aside: object, lang: Language) -> Markup:
    """An aside in brackets, escaped: ``（aside）`` in Chinese, `` (aside)`` in English."""
    return Markup("（{}）" if lang == "zh" else " ({})").format(aside)
