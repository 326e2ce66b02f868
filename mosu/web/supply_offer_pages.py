"""Supply pages for those who keep it: suppliers publish and edit their offers, operators
set up voucher programmes (rules as a form) and keep the firm facts the rules read."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from mosu import i18n
from mosu.accounts.deps import OperatorActor, SignedInActor
from mosu.core.errors import MosuError
from mosu.deps import SessionDep
from mosu.permissions import Actor, can_manage_offers_of, can_offer_supply, ensure
from mosu.supply import offers, programmes, views
from mosu.supply.errors import OWN_OFFERS_ONLY
from mosu.supply.models import VoucherKind
from mosu.supply.schemas import (
    CorpusOfferIn,
    CorpusOfferPatch,
    ModelServiceIn,
    ModelServicePatch,
    PoolIn,
    PoolPatch,
    ProfileIn,
    ProgrammeIn,
    ProgrammePatch,
    RelationIn,
)
from mosu.web.errors import INVALID_FORM, SUPPLIERS_ONLY
from mosu.web.forms import (
    GENERAL,
    FieldErrors,
    FormDep,
    checked,
    service_errors,
    text,
    validation_errors,
)
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)
OFFER_KINDS = ("pool", "corpus", "model")
OFFER_FIELDS = {
    "pool": (
        "organisation_id",
        "name",
        "accelerator",
        "card_count",
        "price",
        "available_from",
        "available_until",
        "region",
        "description",
    ),
    "corpus": ("organisation_id", "dataset_id", "price", "price_unit", "licence", "description"),
    "model": (
        "organisation_id",
        "model_id",
        "mode",
        "price",
        "price_unit",
        "input_price",
        "output_price",
        "description",
    ),
}
CREATE: dict[str, type[BaseModel]] = {
    "pool": PoolIn,
    "corpus": CorpusOfferIn,
    "model": ModelServiceIn,
}
PATCH: dict[str, type[BaseModel]] = {
    "pool": PoolPatch,
    "corpus": CorpusOfferPatch,
    "model": ModelServicePatch,
}
FIXED = ("organisation_id", "dataset_id", "model_id")
"""What an offer is of and whose it is are set when it is published."""


def money(form: FormData, name: str) -> str:
    """A money field as typed, without thousands separators."""
    return text(form, name).replace(",", "").replace("，", "")


def _refusal(exc: MosuError) -> None:
    """Permission failures go to the error page; anything else is shown on the form."""
    if exc.status in (401, 403, 404):
        raise exc


# ---------------------------------------------------------------- offers


def _choices(session: Session, actor: Actor) -> dict[str, Any]:
    datasets, models = views.offer_sources(session, actor)
    return {
        "organisations": views.buyer_choices(session, actor),
        "datasets": datasets,
        "models": models,
    }


def _offer_page(
    request: Request,
    session: Session,
    actor: Actor,
    kind: str,
    values: dict[str, str],
    *,
    offer_id: int | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "kind": kind,
        "values": values,
        "errors": errors or {},
        "offer_id": offer_id,
        "action": _edit_path(kind, offer_id) if offer_id else f"/supply/offers/new?kind={kind}",
        **_choices(session, actor),
    }
    return render(
        request, "supply/offer_form.html", context, actor=actor, session=session, status=status
    )


def _edit_path(kind: str, offer_id: int | None) -> str:
    base = {"pool": "pools", "corpus": "corpus-offers", "model": "model-services"}[kind]
    return f"/supply/{base}/{offer_id}/edit"


@router.get("/supply/offers/new")
def new_offer(
    request: Request, session: SessionDep, actor: SignedInActor, kind: str = "pool"
) -> HTMLResponse:
    """Offer compute, a data set or a model (suppliers for their own organisation)."""
    ensure(can_offer_supply(actor), SUPPLIERS_ONLY)
    kind = kind if kind in OFFER_KINDS else "pool"
    defaults = {"price_unit": "one_off" if kind == "corpus" else "million_tokens", "mode": "api"}
    values = {name: defaults.get(name, "") for name in OFFER_FIELDS[kind]} | {"active": "1"}
    return _offer_page(request, session, actor, kind, values)


def _form_values(form: FormData, kind: str) -> dict[str, str]:
    values = {name: text(form, name) for name in OFFER_FIELDS[kind]}
    for name in ("price", "input_price", "output_price"):
        if name in values:
            values[name] = money(form, name)
    values["active"] = "1" if checked(form, "active") else ""
    return values


@router.post("/supply/offers/new")
def create_offer(
    request: Request, session: SessionDep, actor: SignedInActor, form: FormDep, kind: str = "pool"
) -> Response:
    kind = kind if kind in OFFER_KINDS else "pool"
    values = _form_values(form, kind)
    lang = language(request)
    data: dict[str, Any] = {k: v for k, v in values.items() if v != "" and k != "active"}
    data["active"] = bool(values["active"])
    try:
        parsed = CREATE[kind].model_validate(data)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
        return _offer_page(request, session, actor, kind, values, errors=errors, status=422)
    try:
        if isinstance(parsed, PoolIn):
            offers.create_pool(session, actor=actor, data=parsed)
        elif isinstance(parsed, CorpusOfferIn):
            offers.create_corpus_offer(session, actor=actor, data=parsed)
        elif isinstance(parsed, ModelServiceIn):
            offers.create_model_service(session, actor=actor, data=parsed)
    except MosuError as exc:
        session.rollback()
        _refusal(exc)
        errors = service_errors(exc, lang)
        return _offer_page(request, session, actor, kind, values, errors=errors, status=422)
    session.commit()
    return RedirectResponse(f"/supply#{kind}", status_code=303)


def _current(session: Session, kind: str, offer_id: int) -> tuple[int, dict[str, str]]:
    """An offer's organisation and its form values."""
    out: BaseModel
    if kind == "pool":
        out = offers.pool_out(offers.get_pool(session, offer_id))
    elif kind == "corpus":
        out = offers.corpus_offer_out(offers.get_corpus_offer(session, offer_id))
    else:
        out = offers.model_service_out(offers.get_model_service(session, offer_id))
    dumped = out.model_dump(mode="json")
    values = {
        name: "" if dumped.get(name) is None else str(dumped[name]) for name in OFFER_FIELDS[kind]
    }
    values["active"] = "1" if dumped["active"] else ""
    return int(dumped["organisation_id"]), values


def _edit_form(
    request: Request, session: Session, actor: Actor, kind: str, offer_id: int
) -> HTMLResponse:
    owner, values = _current(session, kind, offer_id)
    ensure(can_manage_offers_of(actor, owner), OWN_OFFERS_ONLY)
    return _offer_page(request, session, actor, kind, values, offer_id=offer_id)


def _save(
    request: Request, session: Session, actor: Actor, kind: str, offer_id: int, form: FormData
) -> Response:
    owner, current = _current(session, kind, offer_id)
    ensure(can_manage_offers_of(actor, owner), OWN_OFFERS_ONLY)
    values = current | {k: v for k, v in _form_values(form, kind).items() if k not in FIXED}
    data: dict[str, Any] = {
        k: (v or None) for k, v in values.items() if k not in FIXED and k != "active"
    }
    data["active"] = bool(values["active"])
    lang = language(request)
    page_for = {"offer_id": offer_id}
    try:
        patch = PATCH[kind].model_validate(data)
        if isinstance(patch, PoolPatch):
            offers.update_pool(session, actor=actor, pool_id=offer_id, data=patch)
        elif isinstance(patch, CorpusOfferPatch):
            offers.update_corpus_offer(session, actor=actor, offer_id=offer_id, data=patch)
        elif isinstance(patch, ModelServicePatch):
            offers.update_model_service(session, actor=actor, offer_id=offer_id, data=patch)
    except ValidationError as exc:
        errors = validation_errors(exc, lang)
        return _offer_page(
            request, session, actor, kind, values, errors=errors, status=422, **page_for
        )
    except MosuError as exc:
        session.rollback()
        _refusal(exc)
        errors = service_errors(exc, lang)
        return _offer_page(
            request, session, actor, kind, values, errors=errors, status=422, **page_for
        )
    session.commit()
    return RedirectResponse(f"/supply#{kind}", status_code=303)


@router.get("/supply/pools/{pool_id}/edit")
def edit_pool(
    request: Request, session: SessionDep, actor: SignedInActor, pool_id: int
) -> HTMLResponse:
    return _edit_form(request, session, actor, "pool", pool_id)


@router.post("/supply/pools/{pool_id}/edit")
def save_pool(
    request: Request, session: SessionDep, actor: SignedInActor, pool_id: int, form: FormDep
) -> Response:
    return _save(request, session, actor, "pool", pool_id, form)


@router.get("/supply/corpus-offers/{offer_id}/edit")
def edit_corpus_offer(
    request: Request, session: SessionDep, actor: SignedInActor, offer_id: int
) -> HTMLResponse:
    return _edit_form(request, session, actor, "corpus", offer_id)


@router.post("/supply/corpus-offers/{offer_id}/edit")
def save_corpus_offer(
    request: Request, session: SessionDep, actor: SignedInActor, offer_id: int, form: FormDep
) -> Response:
    return _save(request, session, actor, "corpus", offer_id, form)


@router.get("/supply/model-services/{service_id}/edit")
def edit_model_service(
    request: Request, session: SessionDep, actor: SignedInActor, service_id: int
) -> HTMLResponse:
    return _edit_form(request, session, actor, "model", service_id)


@router.post("/supply/model-services/{service_id}/edit")
def save_model_service(
    request: Request, session: SessionDep, actor: SignedInActor, service_id: int, form: FormDep
) -> Response:
    return _save(request, session, actor, "model", service_id, form)


# ---------------------------------------------------------------- programmes


PROGRAMME_FIELDS = (
    "name",
    "kind",
    "issuer",
    "budget",
    "starts_on",
    "ends_on",
    "share",
    "cap_per_contract",
    "cap_per_org_year",
    "boost_share",
    "boost_months",
    "boost_max_age_years",
    "boost_max_employees",
    "boost_small_firm",
    "unrelated_parties",
    "open",
    "description",
)


def _fraction(percent: str) -> str | None:
    """``"30"`` (per cent, as operators type it) as ``"0.3"``; empty stays empty."""
    if not percent:
        return None
    try:
        return str(Decimal(percent.rstrip("%").strip()) / 100)
    except InvalidOperation:
        return percent


def _programme_data(values: dict[str, str]) -> dict[str, Any]:
    rules: dict[str, Any] = {
        "share": _fraction(values["share"]),
        "cap_per_contract": values["cap_per_contract"] or None,
        "cap_per_org_year": values["cap_per_org_year"] or None,
        "unrelated_parties": bool(values["unrelated_parties"]),
    }
    if values["boost_share"]:
        rules["boost"] = {
            "share": _fraction(values["boost_share"]),
            "months": values["boost_months"] or 12,
            "max_age_years": values["boost_max_age_years"] or None,
            "max_employees": values["boost_max_employees"] or None,
            "small_firm": bool(values["boost_small_firm"]),
        }
    return {
        "name": values["name"],
        "kind": values["kind"],
        "issuer": values["issuer"],
        "budget": values["budget"] or None,
        "starts_on": values["starts_on"] or None,
        "ends_on": values["ends_on"] or None,
        "rules": rules,
        "open": bool(values["open"]),
        "description": values["description"],
    }


def _rule_field(loc: tuple[Any, ...]) -> str:
    """The form field a validation error of the programme's data belongs to (the rules'
    own check, that the boost exceeds the share, goes to the boost's share)."""
    if not loc:
        return GENERAL
    if loc[0] != "rules":
        return str(loc[0])
    if len(loc) == 1:
        return "boost_share"
    if loc[1] == "boost":
        return "boost_share" if len(loc) < 3 or loc[2] == "share" else f"boost_{loc[2]}"
    return str(loc[1])


def _programme_page(
    request: Request,
    session: Session,
    actor: Actor,
    values: dict[str, str],
    *,
    programme_id: int | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "values": values,
        "errors": errors or {},
        "programme_id": programme_id,
        "kinds": list(VoucherKind),
    }
    return render(
        request, "supply/programme_form.html", context, actor=actor, session=session, status=status
    )


@router.get("/supply/programmes/new")
def new_programme(request: Request, session: SessionDep, actor: OperatorActor) -> HTMLResponse:
    """Set up a voucher programme: kind, budget, period and its rules (operators)."""
    values = {name: "" for name in PROGRAMME_FIELDS}
    values |= {"kind": "compute", "boost_months": "12", "open": "1", "boost_small_firm": "1"}
    return _programme_page(request, session, actor, values)


def _read_programme(form: FormData) -> dict[str, str]:
    values = {name: text(form, name) for name in PROGRAMME_FIELDS}
    for name in ("budget", "cap_per_contract", "cap_per_org_year"):
        values[name] = money(form, name)
    for name in ("boost_small_firm", "unrelated_parties", "open"):
        values[name] = "1" if checked(form, name) else ""
    return values


def _programme_errors(exc: ValidationError, request: Request) -> FieldErrors:
    lang = language(request)
    errors: FieldErrors = {}
    for error in exc.errors():
        message = i18n.validation_message(error["type"], error["msg"], lang, error.get("ctx"))
        field = _rule_field(tuple(error["loc"]))
        errors.setdefault(field, []).append(i18n.local_message(message, lang))
    return errors


@router.post("/supply/programmes/new")
def create_programme(
    request: Request, session: SessionDep, actor: OperatorActor, form: FormDep
) -> Response:
    values = _read_programme(form)
    try:
        data = ProgrammeIn.model_validate(_programme_data(values))
        programme = programmes.create_programme(session, actor=actor, data=data)
    except ValidationError as exc:
        return _programme_page(
            request, session, actor, values, errors=_programme_errors(exc, request), status=422
        )
    except MosuError as exc:
        session.rollback()
        _refusal(exc)
        return _programme_page(
            request,
            session,
            actor,
            values,
            errors=service_errors(exc, language(request)),
            status=422,
        )
    session.commit()
    return RedirectResponse(f"/supply/programmes/{programme.id}", status_code=303)


@router.post("/supply/programmes/{programme_id}/edit")
def update_programme(
    request: Request, session: SessionDep, actor: OperatorActor, programme_id: int, form: FormDep
) -> Response:
    """Change a programme's budget, end, or whether it takes applications."""
    data = validated(
        request,
        ProgrammePatch,
        {
            "budget": money(form, "budget") or None,
            "ends_on": text(form, "ends_on") or None,
            "open": checked(form, "open"),
        },
    )
    programmes.update_programme(session, actor=actor, programme_id=programme_id, data=data)
    session.commit()
    return RedirectResponse(f"/supply/programmes/{programme_id}", status_code=303)


M = TypeVar("M", bound=BaseModel)


def validated(request: Request, schema: type[M], data: dict[str, Any]) -> M:
    """``data`` as ``schema``, or a 422 page naming what is wrong."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = validation_errors(exc, language(request))
        problems = "; ".join(f"{k}: {m}" for k, ms in errors.items() for m in ms)
        raise INVALID_FORM(problems=problems) from None


# ---------------------------------------------------------------- firm facts


@router.get("/supply/firms")
def firms_page(request: Request, session: SessionDep, actor: OperatorActor) -> HTMLResponse:
    """企业信息: founding dates, sizes and related parties, which the voucher rules read."""
    choices = views.organisation_choices(session)
    context = {
        "organisations": choices,
        "names": dict(choices),
        "profiles": views.firm_profiles(session),
        "relations": programmes.list_relations(session, actor=actor),
    }
    return render(request, "supply/firms.html", context, actor=actor, session=session)


@router.post("/supply/firms/profile")
def save_profile(
    request: Request, session: SessionDep, actor: OperatorActor, form: FormDep
) -> Response:
    organisation = text(form, "organisation_id")
    data = validated(
        request,
        ProfileIn,
        {
            "founded_on": text(form, "founded_on") or None,
            "employees": text(form, "employees") or None,
            "small_firm": checked(form, "small_firm"),
            "note": text(form, "note"),
        },
    )
    programmes.set_profile(
        session,
        actor=actor,
        organisation_id=int(organisation) if organisation.isdigit() else 0,
        data=data,
    )
    session.commit()
    return RedirectResponse("/supply/firms#profiles", status_code=303)


@router.post("/supply/firms/relations")
def add_relation(
    request: Request, session: SessionDep, actor: OperatorActor, form: FormDep
) -> Response:
    a, b = text(form, "organisation_id"), text(form, "related_organisation_id")
    data = validated(
        request,
        RelationIn,
        {
            "organisation_id": a or None,
            "related_organisation_id": b or None,
            "kind": text(form, "kind") or None,
            "note": text(form, "note"),
        },
    )
    programmes.add_relation(session, actor=actor, data=data)
    session.commit()
    return RedirectResponse("/supply/firms#relations", status_code=303)


@router.post("/supply/firms/relations/{relation_id}/delete")
def delete_relation(
    request: Request, session: SessionDep, actor: OperatorActor, relation_id: int
) -> Response:
    programmes.delete_relation(session, actor=actor, relation_id=relation_id)
    session.commit()
    return RedirectResponse("/supply/firms#relations", status_code=303)
