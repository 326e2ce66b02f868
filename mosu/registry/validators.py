"""Pure checks for registry identifiers: credit codes and filing numbers."""

from __future__ import annotations

import datetime as dt
import re

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


def credit_code_error(code: str) -> str | None:
    """Why ``code`` is not a valid 统一社会信用代码, or ``None`` when it is."""
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位，实为 {len(code)} 位"
    if not _CREDIT_CODE_RE.match(code):
        return "统一社会信用代码含非法字符（不得含 I、O、S、V、Z 或小写字母）"
    if credit_code_check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验位错误"
    return None


def filing_number_error(number: str) -> str | None:
    """Why ``number`` is not a filing number like ``Shanghai-Abab-20230821``, or ``None``.

    The form is region (pinyin) - service name (pinyin or Latin) - date (YYYYMMDD),
    optionally followed by a four-digit serial as later filings carry.
    """
    m = _FILING_RE.match(number)
    if not m:
        return "备案号格式应为 地区拼音-名称-日期，例如 Shanghai-Abab-20230821"
    if m["region"] not in FILING_REGIONS:
        return f"备案号中的地区 {m['region']} 不是省级行政区拼音"
    try:
        dt.datetime.strptime(m["date"], "%Y%m%d")
    except ValueError:
        return f"备案号中的日期 {m['date']} 无效"
    return None


def filing_number_date(number: str) -> dt.date | None:
    """The date encoded in a valid filing number."""
    m = _FILING_RE.match(number)
    return dt.datetime.strptime(m["date"], "%Y%m%d").date() if m else None
