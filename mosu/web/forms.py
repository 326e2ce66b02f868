"""Reading HTML forms and turning validation failures into per-field messages."""

from __future__ import annotations

import enum
import re
from collections.abc import AsyncIterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from mosu import i18n
from mosu.core.errors import MosuError

GENERAL = "__all__"
FieldErrors = dict[str, list[str]]
E = TypeVar("E", bound=enum.Enum)
_TAG_SPLIT = re.compile(r"[,，、;；\n]+")


async def form_data(request: Request) -> AsyncIterator[FormData]:
    """The submitted form, read before the (synchronous) route runs; uploads closed after."""
    form = await request.form()
    try:
        yield form
    finally:
        await form.close()


FormDep = Annotated[FormData, Depends(form_data)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def checked(form: FormData, name: str) -> bool:
    return text(form, name) in {"1", "on", "true", "yes"}


def optional(form: FormData, name: str) -> str | None:
    """The field's text, or ``None`` when it was left empty (so pydantic sees "not given")."""
    return text(form, name) or None


def choice(cls: type[E], value: str | None) -> E | None:
    """The member of ``cls`` named by a query or form value; anything else means "any"."""
    if not value:
        return None
    try:
        return cls(value)
    except ValueError:
        return None


def yes_no(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


def as_int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def tags(form: FormData, name: str) -> list[str]:
    return [t.strip() for t in _TAG_SPLIT.split(text(form, name)) if t.strip()]


def _field(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return GENERAL
    if loc[0] == "contact" and len(loc) > 1:
        return f"contact_{loc[1]}"
    return str(loc[0])


def validation_errors(exc: ValidationError, lang: i18n.Language) -> FieldErrors:
    """Messages by form field name for a pydantic failure."""
    errors: FieldErrors = {}
    for error in exc.errors():
        message = i18n.validation_message(error["type"], error["msg"], lang, error.get("ctx"))
        errors.setdefault(_field(tuple(error["loc"])), []).append(message)
    return errors


def service_errors(exc: MosuError, lang: i18n.Language) -> FieldErrors:
    """A rule's refusal, attached to the field it names (if any)."""
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    return {str(field) if field else GENERAL: [i18n.render(exc.text, lang)]}
