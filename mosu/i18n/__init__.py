"""Languages of the web UI: Chinese source strings, English translations, enum labels.

Pages are written in Chinese; :data:`CATALOGUE` maps each Chinese string to its English
form (the messages live in :mod:`mosu.i18n.messages`, one module per area). Each domain
registers the labels of its enums in both languages with :func:`register_labels` (see
``mosu/<domain>/labels.py``), so this package imports no domain; :func:`parse_label` reads a
label in either language back into its member, so a spreadsheet may say 北斗七星,
Big Dipper or ``core``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Literal, TypeVar

from mosu.i18n.messages import (
    arena_images,
    arena_matching,
    arena_ratings,
    challenges,
    community,
    desk,
    grading,
    images,
    match_strength,
    notices,
    ops,
    perf,
    public_arena,
    race_ui,
    review_decision,
    review_panel,
    review_pool,
    site,
    supply,
    voucher_form,
)

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
LANG_COOKIE = "lang"
HTML_LANG: Mapping[Language, str] = {"zh": "zh-CN", "en": "en"}
E = TypeVar("E", bound=enum.Enum)

_ENUM_LABELS: dict[tuple[type[enum.Enum], object], tuple[str, str]] = {}
"""Keyed by class and value: a ``StrEnum`` member equals its value, so ``ChallengeState.open``
and ``ScenarioStatus.open`` would share a key of their own."""


def _merge(*parts: Mapping[str, str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for part in parts:
        twice = merged.keys() & part.keys()
        if twice:
            raise ValueError(f"translated twice: {sorted(twice)}")
        merged.update(part)
    return merged


CATALOGUE: Mapping[str, str] = _merge(
    site.MESSAGES,
    challenges.MESSAGES,
    supply.MESSAGES,
    arena_matching.MESSAGES,
    arena_images.MESSAGES,
    arena_ratings.MESSAGES,
    perf.MESSAGES,
    review_decision.MESSAGES,
    grading.MESSAGES,
    images.MESSAGES,
    review_pool.MESSAGES,
    review_panel.MESSAGES,
    desk.MESSAGES,
    race_ui.MESSAGES,
    public_arena.MESSAGES,
    voucher_form.MESSAGES,
    notices.MESSAGES,
    ops.MESSAGES,
    match_strength.MESSAGES,
    community.MESSAGES,
)

_PYDANTIC_MESSAGES: Mapping[str, str] = {
    "missing": "此项必填",
    "string_too_short": "不能为空",
    "string_too_long": "内容过长",
    "too_short": "至少选择一项",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "float_parsing": "须为数字",
    "int_parsing": "须为整数",
    "greater_than": "数值超出范围",
    "greater_than_equal": "数值超出范围",
    "less_than": "数值超出范围",
    "enum": "选项无效",
}


def normalise(code: str | None, default: Language = "zh") -> Language:
    """``code`` when it names a supported language, else ``default``."""
    for lang in LANGUAGES:
        if code == lang:
            return lang
    return default


def gettext(lang: Language, text: str, /, **params: object) -> str:
    """``text`` (a Chinese source string) in ``lang``, with ``{name}`` fields filled in."""
    if lang == "en":
        text = CATALOGUE.get(text, text)
    return text.format(**params) if params else text


def register_labels(cls: type[E], labels: Mapping[E, tuple[str, str]]) -> None:
    """Give every member of ``cls`` its (Chinese, English) label; a member left out is an error."""
    given: dict[tuple[type[enum.Enum], object], tuple[str, str]] = {
        (type(member), member.value): pair for member, pair in labels.items()
    }
    missing = [member.name for member in cls if (cls, member.value) not in given]
    if missing:
        raise ValueError(f"{cls.__name__} members without a label: {missing}")
    _ENUM_LABELS.update(given)


def label(member: enum.Enum | str, lang: Language) -> str:
    """The display label of an enum member (a plain string passes through)."""
    if isinstance(member, enum.Enum) and (type(member), member.value) in _ENUM_LABELS:
        zh, en = _ENUM_LABELS[type(member), member.value]
        return en if lang == "en" else zh
    return str(member)


def parse_label(cls: type[E], text: str) -> E | None:
    """The member of ``cls`` whose value, Chinese label or English label is ``text``."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    for member in cls:
        zh, en = _ENUM_LABELS.get((cls, member.value), ("", ""))
        if wanted in {str(member.value).casefold(), zh.casefold(), en.casefold()}:
            return member
    return None


def local_message(message: str, lang: Language) -> str:
    """One side of a bilingual ``"中文 / English"`` message, else the message as it is."""
    zh, sep, en = message.partition(" / ")
    if not sep:
        return message
    return en if lang == "en" else zh


def validation_message(error_type: str, message: str, lang: Language) -> str:
    """A readable message for one pydantic error: ours verbatim, pydantic's by its type."""
    if error_type == "value_error":
        return message.removeprefix("Value error, ")
    if error_type in _PYDANTIC_MESSAGES:
        return gettext(lang, _PYDANTIC_MESSAGES[error_type])
    return message
