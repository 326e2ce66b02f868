"""Languages of the web UI: gettext catalogues, enum labels.

Pages and code are written in Chinese; the text a reader sees comes from the gettext
catalogues in ``mosu/i18n/locale/<locale>/LC_MESSAGES/mosu.po`` (``zh_CN`` and ``en``),
which ``scripts/catalogues.sh`` extracts from the templates and the code with Babel. A string
that is written in one place and translated in another is marked with :func:`N_` where it is
written. Each domain registers the labels of its enums in both languages with
:func:`register_labels` (see ``mosu/<domain>/labels.py``), so this package imports no domain;
:func:`parse_label` reads a label in either language back into its member, so a spreadsheet
may say 北斗七星, Big Dipper or ``core``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar

from babel.messages.pofile import read_po

from mosu.core import errors
from mosu.core.text import N_ as N_
from mosu.core.text import Bilingual, Text

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
LANG_COOKIE = "lang"
HTML_LANG: Mapping[Language, str] = {"zh": "zh-CN", "en": "en"}
LOCALES: Mapping[Language, str] = {"zh": "zh_CN", "en": "en"}
"""The gettext locale of each language's catalogue."""
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "mosu"
E = TypeVar("E", bound=enum.Enum)

_ENUM_LABELS: dict[tuple[type[enum.Enum], object], tuple[str, str]] = {}
"""Keyed by class and value: a ``StrEnum`` member equals its value, so ``ChallengeState.open``
and ``ScenarioStatus.open`` would share a key of their own."""


def catalogue_path(lang: Language) -> Path:
    """The ``.po`` file of ``lang``'s catalogue."""
    return LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


def _load(lang: Language) -> dict[str, str]:
    """``lang``'s translations, source text to shown text; fuzzy and empty ones are left out."""
    with catalogue_path(lang).open("rb") as f:
        catalogue = read_po(f, locale=LOCALES[lang], domain=DOMAIN)
    return {
        str(m.id): str(m.string)
        for m in catalogue
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


CATALOGUES: Mapping[Language, Mapping[str, str]] = {lang: _load(lang) for lang in LANGUAGES}
CATALOGUE: Mapping[str, str] = CATALOGUES["en"]
"""The English catalogue: Chinese source text to English."""


_PYDANTIC_MESSAGES: Mapping[str, str] = {
    "missing": N_("此项必填"),
    "string_too_short": N_("不能为空"),
    "string_too_long": N_("内容过长"),
    "too_short": N_("至少选择一项"),
    "date_from_datetime_parsing": N_("日期格式应为 YYYY-MM-DD"),
    "date_parsing": N_("日期格式应为 YYYY-MM-DD"),
    "float_parsing": N_("须为数字"),
    "int_parsing": N_("须为整数"),
    "greater_than": N_("数值超出范围"),
    "greater_than_equal": N_("数值超出范围"),
    "less_than": N_("数值超出范围"),
    "enum": N_("选项无效"),
}


def normalise(code: str | None, default: Language = "zh") -> Language:
    """``code`` when it names a supported language, else ``default``."""
    for lang in LANGUAGES:
        if code == lang:
            return lang
    return default


def gettext(lang: Language, text: str, /, **params: object) -> str:
    """``text`` (a Chinese source string) in ``lang``, with ``{name}`` fields filled in."""
    text = CATALOGUES[lang].get(text, text)
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


def render(text: Text | str, lang: Language) -> str:
    """A catalogued :class:`Text` in ``lang``: nested texts and enum members in its fields are
    shown in ``lang`` too. A :class:`~mosu.core.text.Bilingual` is a ``"中文 / English"``
    message: the reader sees their side of it. A plain string is a catalogued text written
    with ``N_`` (shown from the catalogue), an old bilingual message, or a name (as it is)."""
    if isinstance(text, Bilingual):
        return local_message(str(text), lang)
    if isinstance(text, str):
        return CATALOGUES[lang].get(text) or local_message(text, lang)
    params = {k: _shown(v, lang) for k, v in text.params.items()}
    try:
        return gettext(lang, text.source, **params)
    except (KeyError, IndexError, ValueError):
        return gettext(lang, text.source)


def _shown(value: object, lang: Language) -> object:
    if isinstance(value, Text):
        return render(value, lang)
    if isinstance(value, enum.Enum):
        return label(value, lang)
    return value


def local_message(message: str, lang: Language) -> str:
    """One side of a bilingual ``"中文 / English"`` message, else the message as it is."""
    zh, sep, en = message.partition(" / ")
    if not sep:
        return message
    return en if lang == "en" else zh


def validation_message(
    error_type: str, message: str, lang: Language, ctx: Mapping[str, object] | None = None
) -> str:
    """A readable message for one pydantic error: ours in the reader's language (a catalogued
    error raised with ``Error.in_validator``, a catalogued text, or their side of a
    ``"中文 / English"`` one), pydantic's by its type."""
    declared = errors.declared(error_type)
    if declared is not None:
        return render(declared.text(**(ctx or {})), lang)
    if error_type == "value_error":
        return render(message.removeprefix("Value error, "), lang)
    if error_type in _PYDANTIC_MESSAGES:
        return gettext(lang, _PYDANTIC_MESSAGES[error_type])
    return message
