"""Money as whole fen (分): exact integers inside, yuan with two decimals at the edges."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

FEN_PER_YUAN = 100
CENT = Decimal("0.01")


class MoneyError(ValueError):
    """Text or a number that is not an amount of yuan with at most two decimals."""


def to_fen(yuan: Decimal | int | str) -> int:
    """Yuan (``Decimal``, ``int`` or text such as ``"1,234.50"``) as whole fen; refuses
    fractions of a fen and anything that is not a finite number."""
    if isinstance(yuan, str):
        yuan = yuan.replace(",", "").replace("，", "").strip()
    try:
        value = Decimal(yuan)
    except (InvalidOperation, ValueError):
        raise MoneyError(f"不是金额 / not an amount: {yuan!r}") from None
    if not value.is_finite():
        raise MoneyError(f"不是金额 / not an amount: {yuan!r}")
    fen = value * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise MoneyError(f"金额最多两位小数（分）/ at most two decimals: {yuan}")
    return int(fen)


def to_yuan(fen: int) -> Decimal:
    """Whole fen as yuan with exactly two decimals."""
    return (Decimal(fen) / FEN_PER_YUAN).quantize(CENT)


def fmt_yuan(fen: int) -> str:
    """``1234567`` fen as ``"12,345.67"``."""
    return f"{to_yuan(fen):,.2f}"


def floor_fen(value: Fraction) -> int:
    """An exact amount of fen rounded down: a subsidy never exceeds its share."""
    return max(0, value.numerator // value.denominator)
