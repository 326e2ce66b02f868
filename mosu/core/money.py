"""Money as whole fen (分): exact integers inside, yuan at the edges.

Every amount the platform stores is a ``Fen`` (a ``*_fen`` column, ``BIGINT``); yuan appear
only where people type or read them: forms, the API's ``*_yuan`` fields, and pages, which
format every amount through one Jinja filter, ``yuan`` (``fmt_yuan``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import NewType

from mosu.core.errors import FRACTION_OF_FEN, NOT_AN_AMOUNT, MosuError

Fen = NewType("Fen", int)
FEN_PER_YUAN = 100
CENT = Decimal("0.01")


class MoneyError(ValueError):
    """Text or a number that is not an amount of yuan with at most two decimals; ``error``
    is the catalogued error saying so (raise it, or show its ``text``)."""

    def __init__(self, error: MosuError) -> None:
        super().__init__(error.message)
        self.error = error
        self.text = error.text


def to_fen(yuan: Decimal | int | str) -> Fen:
    """Yuan (``Decimal``, ``int`` or text such as ``"1,234.50"``) as whole fen; refuses
    fractions of a fen and anything that is not a finite number."""
    if isinstance(yuan, str):
        yuan = yuan.replace(",", "").replace("，", "").strip()
    try:
        value = Decimal(yuan)
    except (InvalidOperation, ValueError):
        raise MoneyError(NOT_AN_AMOUNT(amount=repr(yuan))) from None
    if not value.is_finite():
        raise MoneyError(NOT_AN_AMOUNT(amount=repr(yuan)))
    fen = value * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise MoneyError(FRACTION_OF_FEN(amount=str(yuan)))
    return Fen(int(fen))


def to_yuan(fen: int) -> Decimal:
    """Whole fen as yuan with exactly two decimals."""
    return (Decimal(fen) / FEN_PER_YUAN).quantize(CENT)


def whole_fen(yuan: int | None) -> Fen | None:
    """A whole number of yuan (a budget or bounty as typed; ``None``: 面议) in fen."""
    return None if yuan is None else Fen(yuan * FEN_PER_YUAN)


def whole_yuan(fen: int | None) -> int | None:
    """An amount held in fen as whole yuan, rounded down (the API's ``*_yuan`` fields)."""
    return None if fen is None else fen // FEN_PER_YUAN


def fmt_yuan(fen: int, *, cents: bool = True) -> str:
    """``1234567`` fen as ``"12,345.67"``; with ``cents=False`` a whole amount drops its
    ``".00"`` (``123400`` as ``"1,234"``), as budgets and bounties are shown."""
    if not cents and fen % FEN_PER_YUAN == 0:
        return f"{fen // FEN_PER_YUAN:,}"
    return f"{to_yuan(fen):,.2f}"


def floor_fen(value: Fraction) -> Fen:
    """An exact amount of fen rounded down: a subsidy never exceeds its share."""
    return Fen(max(0, value.numerator // value.denominator))
