"""Credit codes (GB 32100-2015) and filing numbers, checked against an independent reference."""

from __future__ import annotations

import datetime as dt

import pytest

from mosu.registry.validators import (
    CREDIT_CODE_ALPHABET,
    FILING_REGIONS,
    credit_code_check_char,
    credit_code_error,
    filing_number_date,
    filing_number_error,
)


def reference_check_char(first17: str) -> str:
    """GB 32100-2015 §5: weights are 3^i mod 31; C18 = 31 - (Σ Ci·Wi mod 31), 31 → 0."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(alphabet.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return alphabet[(31 - total % 31) % 31]


# Codes published by the companies themselves (Xiaomi, Tencent Computer Systems, and the
# worked example circulated with the standard), each re-checked with the reference above.
PUBLISHED_CODES = [
    "91350100M000100Y43",
    "91110000600037341L",
    "91110108551385082Q",
    "91440300708461136T",
]


@pytest.mark.parametrize("code", PUBLISHED_CODES)
def test_published_codes_are_valid(code: str) -> None:
    assert reference_check_char(code[:17]) == code[17]
    assert credit_code_error(code) is None


def test_check_char_agrees_with_reference_on_many_codes() -> None:
    alphabet = CREDIT_CODE_ALPHABET
    for n in range(2000):
        body = "".join(alphabet[(n * 7 + i * 13 + n // 31) % 31] for i in range(10))
        first17 = f"91{310000 + n % 99999:06d}" + body[:9]
        assert credit_code_check_char(first17) == reference_check_char(first17)
        assert credit_code_error(first17 + reference_check_char(first17)) is None


def test_alphabet_excludes_letters_the_standard_leaves_out() -> None:
    assert len(CREDIT_CODE_ALPHABET) == 31
    assert not set("IOSVZ") & set(CREDIT_CODE_ALPHABET)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y4", "18 位"),
        ("91350100M000100Y433", "18 位"),
        ("", "18 位"),
        ("91350100M000100I43", "非法字符"),  # I is not in the alphabet
        ("91350100m000100Y43", "非法字符"),  # lower case
        ("913501A0M000100Y43", "非法字符"),  # region code must be digits
        ("91350100M000100Y44", "校验位"),
        ("91110000600037341X", "校验位"),
    ],
)
def test_invalid_codes_say_why(code: str, why: str) -> None:
    error = credit_code_error(code)
    assert error is not None and why in error.message()


@pytest.mark.parametrize(
    "number",
    [
        "Shanghai-Abab-20230821",
        "Beijing-WenXinYiYan-20230831",
        "Shanghai-SenseChat-202308210001",
        "Neimenggu-X1-20240229",
    ],
)
def test_valid_filing_numbers(number: str) -> None:
    assert filing_number_error(number) is None


def test_filing_number_date() -> None:
    assert filing_number_date("Shanghai-Abab-20230821") == dt.date(2023, 8, 21)
    assert filing_number_date("Shanghai-Abab-202308210001") == dt.date(2023, 8, 21)
    assert filing_number_date("nonsense") is None


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("Atlantis-Abab-20230821", "地区"),
        ("Shanghai-Abab-20230231", "日期"),
        ("Shanghai-Abab-20231301", "日期"),
        ("Shanghai-Abab-2023082", "格式"),
        ("Shanghai-Abab-202308210", "格式"),  # a serial has four digits
        ("shanghai-Abab-20230821", "格式"),
        ("Shanghai--20230821", "格式"),
        ("Shanghai-大模型-20230821", "格式"),
        ("Shanghai Abab 20230821", "格式"),
        ("", "格式"),
    ],
)
def test_invalid_filing_numbers_say_why(number: str, why: str) -> None:
    error = filing_number_error(number)
    assert error is not None and why in error.message()


def test_every_region_is_a_capitalised_pinyin_word() -> None:
    assert len(FILING_REGIONS) == len(set(FILING_REGIONS)) == 31
    for region in FILING_REGIONS:
        assert filing_number_error(f"{region}-Abab-20230821") is None
