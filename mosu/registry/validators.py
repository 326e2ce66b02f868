"""Pure checks for registry identifiers: credit codes and filing numbers."""

from __future__ import annotations

import datetime as dt
import re

from pydantic_core import PydanticCustomError

from mosu.registry.errors import (
    CREDIT_CODE_CHARACTERS,
    CREDIT_CODE_CHECK,
    CREDIT_CODE_LENGTH,
    FILING_NUMBER_DATE,
    FILING_NUMBER_FORM,
    FILING_NUMBER_REGION,
)

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_CODE_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")

#: Province-level regions in the pinyin form used in filing numbers.
FILING_REGIONS = (
    "Beijing", "Tianjin", "Hebei", "Shanxi", "Neimenggu", "Liaoning", "Jilin",
    "Heilongjiang", "Shanghai", "Jiangsu", "Zhejiang", "Anhui", "Fujian", "Jiangxi",
    "Shandong", "Henan", "Hubei", "Hunan", "Guangdong", "Guangxi", "Hainan", "Chongqing",
    "Sichuan", "Guizhou", "Yunnan", "Xizang", "Shaanxi", "Gansu", "Qinghai", "Ningxia",
    "Xinjiang",
)  # fmt: skip
_FILING_RE = re.compile(
    r"^(?P<region>[A-Z][a-z]+)-(?P<name>[A-Za-z0-9]+)-(?P<date>\d{8})(?P<serial>\d{4})?$"
)


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100-2015) for its first 17."""
    total = sum(
        CREDIT_CODE_ALPHABET.index(ch) * w
        for ch, w in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def credit_code_error(code: str) -> PydanticCustomError | None:
    """Why ``code`` is not a valid 统一社会信用代码 (a catalogued error, for a validator to
    raise), or ``None`` when it is."""
    if len(code) != 18:
        return CREDIT_CODE_LENGTH.in_validator(length=len(code))
    if not _CREDIT_CODE_RE.match(code):
        return CREDIT_CODE_CHARACTERS.in_validator()
    if credit_code_check_char(code[:17]) != code[17]:
        return CREDIT_CODE_CHECK.in_validator()
    return None


def filing_number_error(number: str) -> PydanticCustomError | None:
    """Why ``number`` is not a filing number like ``Shanghai-Abab-20230821`` (a catalogued
    error, for a validator to raise), or ``None``.

    The form is region (pinyin) - service name (pinyin or Latin) - date (YYYYMMDD),
    optionally followed by a four-digit serial as later filings carry.
    """
    m = _FILING_RE.match(number)
    if not m:
        return FILING_NUMBER_FORM.in_validator()
    if m["region"] not in FILING_REGIONS:
        return FILING_NUMBER_REGION.in_validator(region=m["region"])
    try:
        dt.datetime.strptime(m["date"], "%Y%m%d")
    except ValueError:
        return FILING_NUMBER_DATE.in_validator(date=m["date"])
    return None


def filing_number_date(number: str) -> dt.date | None:
    """The date encoded in a valid filing number."""
    m = _FILING_RE.match(number)
    return dt.datetime.strptime(m["date"], "%Y%m%d").date() if m else None
