"""Rendering pages: one autoescaping Jinja2 environment, the language, and small helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.core.gate import SAFE_METHODS
from mosu.core.money import fmt_yuan
from mosu.core.settings import Settings
from mosu.core.text import N_, Text
from mosu.corpus.labels import TERMS
from mosu.notifications.service import unread_count
from mosu.permissions import (
    Actor,
    can_bulk_import,
    can_manage_expert_pool,
    can_manage_panels,
    can_manage_users,
    has_review_queue,
    is_expert,
    supplier_organisation,
)
from mosu.registry.models import FilingKind, FilingStatus, Layer, Modality, Tier
from mosu.registry.organisations import english_names
from mosu.review.panel_views import BLIND_CODE
from mosu.web import flash, formats
from mosu.web.assets import static_url
from mosu.web.challenge_labels import ACTION_LABELS

TEMPLATE_DIR = Path(__file__).parent / "templates"


@pass_context
def _gettext(context: Context, text: str, /, **params: object) -> str:
    return i18n.gettext(context["lang"], text, **params)


@pass_context
def _label(context: Context, member: Any) -> str:
    return i18n.label(member, context["lang"])


@pass_context
def _local(context: Context, message: Text | str) -> str:
    """A catalogued text in the visitor's language, or their side of a bilingual
    ``"中文 / English"`` value (e.g. 运营方 / operator)."""
    return i18n.render(message, context["lang"])


@pass_context
def _when(context: Context, moment: Any) -> str:
    """A stored time in Beijing time, written the reader's way (see :mod:`mosu.web.formats`)."""
    return formats.when(moment, context["lang"])


@pass_context
def _action_label(context: Context, action: str) -> str:
    """An audit entry's action (``start_race``) in the reader's language."""
    return i18n.gettext(context["lang"], ACTION_LABELS.get(action, action))


@pass_context
def _money(context: Context, fen: int | None, cents: bool = True) -> Markup:
    """An amount (fen) for a table cell: 万 in Chinese from ¥10,000 on, exact on hover."""
    return formats.money(fen, context["lang"], cents=cents)


@pass_context
def _corpus_term(context: Context, word: str) -> str:
    """A corpus's split, way of splitting or import format in the reader's language."""
    return i18n.gettext(context["lang"], TERMS[word]) if word in TERMS else word


SCORER_NAMES = {
    "accuracy": N_("准确率"),
    "exact_match": N_("完全匹配率"),
    "macro_f1": N_("宏平均 F1"),
    "rouge_l": "ROUGE-L",
    "bleu": "BLEU",
    "judge": N_("评审模型打分"),
}
"""The engine's scorers by the name a reader knows; a plugin's scorer shows as its code."""


@pass_context
def _metric(context: Context, scorer: str) -> Markup:
    """A stage's primary metric (a scorer's name) as the reader's language calls it."""
    if scorer in SCORER_NAMES:
        return Markup.escape(i18n.gettext(context["lang"], SCORER_NAMES[scorer]))
    return Markup("<code>{}</code>").format(scorer)


@pass_context
def _org(context: Context, name: str) -> str:
    """An organisation's name (its Chinese name, or a value that may be one, such as a
    challenge's issuer) as the reader's language has it: its English name on English pages,
    where the registry holds one."""
    names: Mapping[str, str] = context.get("org_names", {})
    return names.get(name, name)


@pass_context
def _blind(context: Context, letter: str) -> str:
    """An application's code under blind review (申报材料 A) in the reader's language."""
    return i18n.gettext(context["lang"], BLIND_CODE, code=letter)


@pass_context
def _colon(context: Context) -> str:
    return formats.colon(context["lang"])


@pass_context
def _paren(context: Context, aside: object) -> Markup:
    return formats.paren(aside, context["lang"])


def page_url(path: str, params: Mapping[str, object], **overrides: object) -> str:
    """``path`` with the non-empty ``params`` (and ``overrides``) as its query string."""
    merged = {**params, **overrides}
    query = urlencode({k: v for k, v in merged.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates ship with the package: no stat() of each file per render
)
env.globals.update(
    _=_gettext,
    action_label=_action_label,
    blind=_blind,
    colon=_colon,
    corpus_term=_corpus_term,
    paren=_paren,
    label=_label,
    local=_local,
    metric=_metric,
    money=_money,
    page_url=page_url,
    static=static_url,
    when=_when,
    Tier=Tier,
    Layer=Layer,
    Modality=Modality,
    FilingKind=FilingKind,
    FilingStatus=FilingStatus,
)


def percent(share: Decimal | str) -> str:
    """A share as a percentage with no trailing zeros: ``0.30`` → ``30%``."""
    value = Decimal(str(share)) * 100
    return f"{value.normalize():f}%"


env.filters["yuan"] = fmt_yuan  # every amount on every page: fen in, yuan out
env.filters["percent"] = percent
env.filters["money"] = _money
env.filters["when"] = _when
env.filters["org"] = _org


def language(request: Request) -> i18n.Language:
    """The visitor's chosen language (the ``lang`` cookie), else the configured default."""
    settings: Settings = request.app.state.settings
    return i18n.normalise(request.cookies.get(i18n.LANG_COOKIE), settings.default_language)


def here(request: Request) -> str:
    """The current path and query, as a ``next`` target."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def wants_partial(request: Request) -> bool:
    """An HTMX swap asks for the fragment; history restores and plain browsers get the page."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def unread_notifications(request: Request, session: Session, actor: Actor) -> int:
    """The signed-in user's unread notifications, for the badge in the header: on a GET,
    as read with the visitor's session cookie (GET never writes); else read with the
    request's own session."""
    if actor.user_id is None:
        return 0
    counted = request.state._state.get("mosu_unread")
    if counted is not None and request.method in SAFE_METHODS:
        return int(counted)
    return unread_count(session, user_id=actor.user_id)


@dataclass(frozen=True)
class NavFlags:
    """The header's links that depend on who is signed in."""

    opportunities: bool
    bulk_import: bool
    users: bool
    experts: bool
    expert_profile: bool
    review: bool
    panels: bool


def nav_flags(actor: Actor) -> NavFlags:
    return NavFlags(
        opportunities=bool(supplier_organisation(actor)),
        bulk_import=can_bulk_import(actor),
        users=can_manage_users(actor),
        experts=can_manage_expert_pool(actor),
        expert_profile=is_expert(actor.role),
        review=has_review_queue(actor),
        panels=can_manage_panels(actor),
    )


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    actor: Actor,
    session: Session,
    status: int = 200,
) -> HTMLResponse:
    """``template`` rendered in the visitor's language, with the layout's common values; the
    header's badge is read with ``session``, the request's one session. A read (GET, HEAD)
    ends that session's transaction once its values are built, before the template renders:
    its connection goes back to the pool (on a server, after its one round trip, on this
    worker thread rather than a thread hop of its own after the response), so no connection
    waits for Jinja. The loaded objects stay usable (the sessions do not expire on commit);
    an attribute the template loads lazily takes a connection again for its query. A read
    changes nothing, so its end is a commit only when the session holds no change: one that
    does is left to the request's end, which rolls it back.
    """
    lang = language(request)
    values: dict[str, Any] = {
        "request": request,
        "actor": actor,
        "lang": lang,
        "html_lang": i18n.HTML_LANG[lang],
        "here": here(request),
        "path": request.url.path,
        "nav": nav_flags(actor),
    }
    settings: Settings = request.app.state.settings
    shown = None if wants_partial(request) else flash.take(request, settings, lang)
    values["flash"] = shown
    if lang == "en":
        values["org_names"] = english_names(session)
    values.update(context or {})
    if "unread" not in values:
        values["unread"] = unread_notifications(request, session, actor)
    if request.method in SAFE_METHODS and not (session.new or session.dirty or session.deleted):
        session.commit()
    html = env.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    response.headers["Vary"] = "Cookie, HX-Request"
    if shown is not None:
        flash.forget(response, settings)
    return response
