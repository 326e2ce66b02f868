"""Supply pages (要素供给): the market of compute, corpus and models, voucher programmes,
the application form with its PDF, an application with the subsidy's working and the
review, claim and payout forms, and the operators' spending report with charts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from mosu import i18n
from mosu.accounts.deps import OperatorActor, PublicActor, SignedInActor
from mosu.core import clock
from mosu.core.errors import MosuError
from mosu.core.money import fmt_yuan
from mosu.core.settings import Settings
from mosu.deps import SessionDep, SettingsDep
from mosu.i18n import N_
from mosu.permissions import (
    Actor,
    can_act_for_any_organisation,
    can_apply_for_vouchers,
    can_manage_offers_of,
    can_manage_programmes,
    can_see_every_application,
    ensure,
)
from mosu.supply import (
    applications,
    attachments,
    decisions,
    ledger,
    offers,
    programmes,
    report,
    views,
)
from mosu.supply.errors import MEMBERS_APPLY
from mosu.supply.models import ApplicationStatus, VoucherApplication, VoucherKind
from mosu.supply.rules import refusal_reason
from mosu.supply.schemas import (
    ApplicationIn,
    ClaimIn,
    PayoutIn,
    ReviewIn,
    SpendRow,
    SupplyReport,
    WorkingOut,
)
from mosu.supply.subsidy import working_out
from mosu.web import formats
from mosu.web.charts import COLOURS, figure_dict, layout
from mosu.web.confirm import confirm_page, confirmed
from mosu.web.forms import (
    GENERAL,
    FieldErrors,
    FormDep,
    choice,
    service_errors,
    text,
    validation_errors,
)
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)
APPLICATION_FIELDS = (
    "programme_id",
    "organisation_id",
    "seller_organisation_id",
    "offer_id",
    "contract_number",
    "contract_amount",
    "signed_on",
    "service_starts_on",
    "service_ends_on",
    "description",
)


PREVIEW_NEEDS = (
    "programme_id",
    "seller_organisation_id",
    "contract_amount",
    "signed_on",
    "service_starts_on",
    "service_ends_on",
)
"""The fields the subsidy preview needs before it computes anything."""


def _money(form: FormData, name: str) -> str:
    return text(form, name).replace(",", "").replace("，", "")


# ---------------------------------------------------------------- the market


@router.get("/supply")
def market(
    request: Request, session: SessionDep, actor: PublicActor, kind: str = ""
) -> HTMLResponse:
    """要素供给: voucher programmes and every offer of compute, corpus and models; suppliers
    also see their own withdrawn offers, with a link to edit each of theirs. ``kind``: one
    voucher kind's programmes and offers only (the overview's figures link here)."""
    only = choice(VoucherKind, kind)

    def shown(offers: list[Any]) -> list[tuple[Any, bool]]:
        rows = [(o, can_manage_offers_of(actor, o.organisation_id)) for o in offers]
        return [(o, mine) for o, mine in rows if o.active or mine]

    pools = offers.list_pools(session, include_inactive=True)
    corpus = offers.list_corpus_offers(session, include_inactive=True)
    models = offers.list_model_services(session, include_inactive=True)
    context = {
        "programmes": [
            p
            for p in programmes.programmes_out(session, programmes.list_programmes(session))
            if only is None or p.kind is only
        ],
        "only": only or "",
        "pools": [(offers.pool_out(o), mine) for o, mine in shown(pools)],
        "corpus_offers": [(offers.corpus_offer_out(o), mine) for o, mine in shown(corpus)],
        "model_services": [(offers.model_service_out(o), mine) for o, mine in shown(models)],
        **vars(views.market_flags(actor)),
    }
    return render(request, "supply/market.html", context, actor=actor, session=session)


# ---------------------------------------------------------------- programmes


@router.get("/supply/programmes/{programme_id}")
def programme_page(
    request: Request, session: SessionDep, actor: PublicActor, programme_id: int
) -> HTMLResponse:
    """A programme: its rules, budget and spending; operators also see its applications."""
    programme = programmes.get_programme(session, programme_id)
    out = programmes.programmes_out(session, [programme])[0]
    listed = (
        applications.list_applications(session, actor=actor, programme_id=programme.id)
        if actor.is_authenticated
        else []
    )
    context = {
        "p": out,
        "applications": listed,
        "can_apply": views.can_apply_to(actor, programme),
        "sees_all": can_see_every_application(actor),
        "can_manage": can_manage_programmes(actor),
    }
    return render(request, "supply/programme.html", context, actor=actor, session=session)


# ---------------------------------------------------------------- applications


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _offer_choices(session: Session, values: dict[str, str]) -> views.OfferChoices:
    return views.offer_choices(
        session,
        programme_id=_id(values.get("programme_id", "")),
        seller_id=_id(values.get("seller_organisation_id", "")),
    )


@dataclass(frozen=True)
class SubsidyPreview:
    """补贴测算: the working the application would get now, or why there is none yet."""

    working: WorkingOut | None = None
    problem: str = ""
    incomplete: bool = False


def _subsidy_preview(
    session: Session, actor: Actor, values: dict[str, str], lang: i18n.Language
) -> SubsidyPreview:
    """The subsidy the form's figures would get, computed by the rules that decide it."""
    filled = {k: v for k, v in values.items() if v != ""}
    if any(name not in filled for name in PREVIEW_NEEDS):
        return SubsidyPreview(incomplete=True)
    filled.setdefault("contract_number", "preview")
    try:
        data = ApplicationIn.model_validate(filled)
    except ValidationError as exc:
        problems = validation_errors(exc, lang)
        return SubsidyPreview(problem=next(iter(problems.values()))[0])
    try:
        working = applications.preview_subsidy(session, actor=actor, data=data)
    except MosuError as exc:
        if exc.status in (401, 403):
            raise
        return SubsidyPreview(problem=next(iter(service_errors(exc, lang).values()))[0])
    reason = refusal_reason(working) if working.refused in applications.OUTSIDE_PERIOD else None
    refusal = i18n.render(reason, lang) if reason is not None else ""
    return SubsidyPreview(working=working_out(working.as_json()), problem=refusal)


def _form_values(source: Mapping[str, str]) -> dict[str, str]:
    values = {name: source.get(name, "").strip() for name in APPLICATION_FIELDS}
    values["contract_amount"] = values["contract_amount"].replace(",", "").replace("，", "")
    return values


def _application_page(
    request: Request,
    session: Session,
    settings: Settings,
    actor: Actor,
    values: dict[str, str],
    errors: FieldErrors | None = None,
    status: int = 200,
    *,
    preview: bool = False,
) -> HTMLResponse:
    open_programmes = [p for p in programmes.list_programmes(session) if p.open]
    context = {
        "values": values,
        "errors": errors or {},
        "programmes": open_programmes,
        "organisations": views.organisation_choices(session),
        "choose_buyer": can_act_for_any_organisation(actor),
        "max_mb": settings.max_upload_mb,
        "choices": _offer_choices(session, values),
        "preview": _subsidy_preview(session, actor, values, language(request)) if preview else None,
    }
    return render(
        request, "supply/apply.html", context, actor=actor, session=session, status=status
    )


@router.get("/supply/applications/new")
def new_application(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    preview: str = "",
) -> HTMLResponse:
    """The application form: the contract, its parties, amount and dates, and its PDF; its
    fields may come in the query (``preview=1`` shows the subsidy's working, the form's
    step without JavaScript)."""
    ensure(can_apply_for_vouchers(actor), MEMBERS_APPLY)
    values = _form_values(request.query_params)
    return _application_page(request, session, settings, actor, values, preview=preview == "1")


@router.get("/supply/applications/new/offers")
def offer_options(request: Request, session: SessionDep, actor: SignedInActor) -> HTMLResponse:
    """The offer choices for the chosen programme's kind and seller (HTMX fragment)."""
    ensure(can_apply_for_vouchers(actor), MEMBERS_APPLY)
    values = _form_values(request.query_params)
    context = {"choices": _offer_choices(session, values), "values": values}
    return render(request, "supply/offer_options.html", context, actor=actor, session=session)


@router.get("/supply/applications/new/preview")
def subsidy_preview(request: Request, session: SessionDep, actor: SignedInActor) -> HTMLResponse:
    """The subsidy's working for the form's figures as they stand (HTMX fragment)."""
    ensure(can_apply_for_vouchers(actor), MEMBERS_APPLY)
    values = _form_values(request.query_params)
    context = {"preview": _subsidy_preview(session, actor, values, language(request))}
    return render(request, "supply/subsidy_preview.html", context, actor=actor, session=session)


@router.post("/supply/applications/new")
def submit_application(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    form: FormDep,
) -> Response:
    lang = language(request)
    values = {name: text(form, name) for name in APPLICATION_FIELDS}
    values["contract_amount"] = _money(form, "contract_amount")
    page = partial(_application_page, request, session, settings, actor, values, preview=True)
    try:
        data = ApplicationIn.model_validate({k: v for k, v in values.items() if v != ""})
    except ValidationError as exc:
        return page(validation_errors(exc, lang), 422)
    upload = form.get("attachment")
    limit = settings.max_upload_mb * 1024 * 1024
    try:
        application = applications.create_application(session, actor=actor, data=data)
        if isinstance(upload, UploadFile) and upload.filename:
            content = upload.file.read(limit + 1)
            attachments.attach(
                session,
                actor=actor,
                application_id=application.id,
                filename=upload.filename,
                content=content,
                data_dir=settings.data_dir,
                max_bytes=limit,
            )
    except MosuError as exc:
        session.rollback()
        if exc.status in (401, 403):
            raise
        errors = service_errors(exc, lang)
        if "file" in errors:
            errors["attachment"] = errors.pop("file")
        return page(errors, 422)
    session.commit()
    return RedirectResponse(f"/supply/applications/{application.id}", status_code=303)


@router.get("/supply/applications")
def applications_page(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    status: str = "",
    programme_id: str = "",
) -> HTMLResponse:
    """Your organisation's applications (operators: all), by status and programme."""
    found = applications.list_applications(
        session,
        actor=actor,
        programme_id=int(programme_id) if programme_id.isdigit() else None,
        status=choice(ApplicationStatus, status),
    )
    context = {
        "applications": found,
        "status": status,
        "programme_id": programme_id,
        "programmes": programmes.list_programmes(session),
        "statuses": list(ApplicationStatus),
        "can_apply": can_apply_for_vouchers(actor),
    }
    return render(request, "supply/applications.html", context, actor=actor, session=session)


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    application: VoucherApplication,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    out = applications.application_out(application)
    context = {
        "a": out,
        "errors": errors or {},
        **vars(views.application_flags(actor, application)),
        "today": clock.today().isoformat(),
        "rules": out.decision_working or out.working,
    }
    return render(
        request, "supply/application.html", context, actor=actor, session=session, status=status
    )


@router.get("/supply/applications/{application_id}")
def application_page(
    request: Request, session: SessionDep, actor: SignedInActor, application_id: int
) -> HTMLResponse:
    """An application: the contract, the subsidy with its working, and what happens next."""
    application = applications.get_application(session, actor=actor, application_id=application_id)
    return _detail(request, session, actor, application)


STEP_FIELDS = frozenset({"amount", "reason", "delivered_on", "paid_on"})


def _general(errors: FieldErrors) -> FieldErrors:
    """Errors of fields the step's form has stay there; any other goes to the page's top."""
    kept: FieldErrors = {}
    for name, messages in errors.items():
        kept.setdefault(name if name in STEP_FIELDS else GENERAL, []).extend(messages)
    return kept


def _step(
    request: Request,
    session: Session,
    actor: Actor,
    application_id: int,
    run: Any,
) -> Response:
    """Run one step of the flow from a form; errors re-render the page with the message."""
    lang = language(request)
    application = applications.get_application(session, actor=actor, application_id=application_id)
    try:
        run()
    except ValidationError as exc:
        session.rollback()
        errors = _general(validation_errors(exc, lang))
        return _detail(request, session, actor, application, errors, 422)
    except MosuError as exc:
        session.rollback()
        if exc.status in (401, 403):
            raise
        session.refresh(application)
        errors = _general(service_errors(exc, lang))
        return _detail(request, session, actor, application, errors, exc.status)
    session.commit()
    return RedirectResponse(f"/supply/applications/{application_id}", status_code=303)


@router.post("/supply/applications/{application_id}/review")
def review_form(
    request: Request, session: SessionDep, actor: OperatorActor, application_id: int, form: FormDep
) -> Response:
    if text(form, "decision") == "approve" and not confirmed(form):
        application = applications.get_application(
            session, actor=actor, application_id=application_id
        )
        if decisions.is_large_approval(application, _money(form, "amount")):
            return confirm_page(
                request, session, actor, form,
                title=N_("确认批准大额券申请"),
                message=N_("将批准“{name}”的券申请，申请金额 ¥{amount}，达到大额确认标准。"),
                params={"name": application.applicant_name,
                        "amount": fmt_yuan(application.requested_fen)},
                back=f"/supply/applications/{application_id}",
            )  # fmt: skip

    def run() -> None:
        amount = _money(form, "amount")
        data = ReviewIn.model_validate(
            {
                "decision": text(form, "decision"),
                "amount": amount or None,
                "reason": text(form, "reason"),
            }
        )
        decisions.review(session, actor=actor, application_id=application_id, data=data)

    return _step(request, session, actor, application_id, run)


@router.post("/supply/applications/{application_id}/claim")
def claim_form(
    request: Request, session: SessionDep, actor: SignedInActor, application_id: int, form: FormDep
) -> Response:
    def run() -> None:
        data = ClaimIn.model_validate(
            {"delivered_on": text(form, "delivered_on"), "note": text(form, "note")}
        )
        decisions.claim(session, actor=actor, application_id=application_id, data=data)

    return _step(request, session, actor, application_id, run)


@router.post("/supply/applications/{application_id}/payout")
def payout_form(
    request: Request, session: SessionDep, actor: OperatorActor, application_id: int, form: FormDep
) -> Response:
    def run() -> None:
        amount = _money(form, "amount")
        data = PayoutIn.model_validate(
            {
                "amount": amount or None,
                "paid_on": text(form, "paid_on"),
                "reference": text(form, "reference"),
            }
        )
        decisions.payout(session, actor=actor, application_id=application_id, data=data)

    return _step(request, session, actor, application_id, run)


# ---------------------------------------------------------------- reports


def _spend_bars(
    rows: list[SpendRow],
    labels: list[str],
    title: str,
    lang: i18n.Language,
    *,
    horizontal: bool = False,
) -> dict[str, Any]:
    """Committed and paid side by side for each group (yuan); long names lie horizontally,
    and groups are categories, never dates."""
    t = partial(i18n.gettext, lang)
    exact = [[float(r.committed) for r in rows], [float(r.paid) for r in rows]]
    in_wan = formats.money_axis(exact[0] + exact[1], lang)[1]
    unit = "万元" if in_wan else t("元")
    money_axis = {"rangemode": "tozero", "gridcolor": "#e5e7eb", "title": {"text": unit}}
    group_axis = {"type": "category", "automargin": True}
    figure = go.Figure(
        layout=layout(
            title,
            barmode="group",
            showlegend=True,
            legend={"orientation": "h", "y": -0.2},
            xaxis=money_axis if horizontal else group_axis,
            yaxis={**group_axis, "autorange": "reversed"} if horizontal else money_axis,
        )
    )
    for name, amounts, colour in (
        (t("已批准"), exact[0], COLOURS[0]),
        (t("已兑付"), exact[1], COLOURS[1]),
    ):
        values = [v / 10_000 for v in amounts] if in_wan else amounts
        figure.add_trace(
            go.Bar(
                x=values if horizontal else labels,
                y=labels if horizontal else values,
                orientation="h" if horizontal else "v",
                name=name,
                marker={"color": colour},
                customdata=amounts,  # the exact yuan, on hover
                hovertemplate=("%{y}" if horizontal else "%{x}")
                + ": %{customdata:,.2f} "
                + t("元")
                + "<extra></extra>",
            )
        )
    return figure_dict(figure)


def report_charts(figures: SupplyReport, lang: i18n.Language) -> dict[str, dict[str, Any]]:
    """Spending by programme, kind, organisation tier and month, by element id."""
    t = partial(i18n.gettext, lang)
    kinds = {
        VoucherKind.compute: t("算力券"),
        VoucherKind.model: t("模型券"),
        VoucherKind.corpus: t("语料券"),
    }
    tiers = {"core": t("北斗七星"), "cluster": t("群星"), "other": t("其他")}
    return {
        "chart-programmes": _spend_bars(
            list(figures.programmes),
            [p.name for p in figures.programmes],
            t("按项目"),
            lang,
            horizontal=True,
        ),
        "chart-kinds": _spend_bars(
            figures.by_kind, [kinds[VoucherKind(r.key)] for r in figures.by_kind], t("按券种"), lang
        ),
        "chart-tiers": _spend_bars(
            figures.by_tier, [tiers[r.key] for r in figures.by_tier], t("按梯队"), lang
        ),
        "chart-months": _spend_bars(
            figures.by_month, [r.key for r in figures.by_month], t("按月份"), lang
        ),
    }


@router.get("/supply/reports")
def reports_page(
    request: Request, session: SessionDep, actor: OperatorActor, year: str = ""
) -> HTMLResponse:
    """报表: committed and paid by programme, kind, tier and month, with the xlsx export."""
    chosen = int(year) if year.isdigit() else None
    figures = report.build_report(session, actor=actor, year=chosen)
    context = {
        "r": figures,
        "year": year,
        "charts": report_charts(figures, language(request)),
        "problems": ledger.ledger_problems(session),
    }
    return render(request, "supply/reports.html", context, actor=actor, session=session)
