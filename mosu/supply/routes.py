"""Supply API (要素供给): offers, programmes, firm facts, applications, ledger and reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import UploadFile

from mosu.accounts.deps import OperatorActor, PublicActor, SignedInActor
from mosu.deps import SessionDep, SettingsDep
from mosu.registry.sheets import XLSX_MEDIA_TYPE
from mosu.supply import applications, attachments, decisions, offers, programmes, report, views
from mosu.supply import ledger as book
from mosu.supply.errors import PDF_MISSING, PDF_MULTIPART
from mosu.supply.models import (
    ApplicationStatus,
    ComputePool,
    CorpusOffer,
    ModelService,
    VoucherApplication,
)
from mosu.supply.schemas import (
    ApplicationIn,
    ApplicationOut,
    ClaimIn,
    CorpusOfferIn,
    CorpusOfferOut,
    CorpusOfferPatch,
    LedgerOut,
    ModelServiceIn,
    ModelServiceOut,
    ModelServicePatch,
    PayoutIn,
    PoolIn,
    PoolOut,
    PoolPatch,
    ProfileIn,
    ProfileOut,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammePatch,
    RelationIn,
    RelationOut,
    ReviewIn,
    SupplyReport,
    UsageIn,
    UsageOut,
)

router = APIRouter(prefix="/supply", tags=["supply"])


def _own_pool(session: SessionDep, actor: SignedInActor, pool_id: int) -> ComputePool:
    return offers.owned(actor, offers.get_pool(session, pool_id))


def _own_corpus_offer(session: SessionDep, actor: SignedInActor, offer_id: int) -> CorpusOffer:
    return offers.owned(actor, offers.get_corpus_offer(session, offer_id))


def _own_model_service(session: SessionDep, actor: SignedInActor, service_id: int) -> ModelService:
    return offers.owned(actor, offers.get_model_service(session, service_id))


def _visible_application(
    session: SessionDep, actor: SignedInActor, application_id: int
) -> VoucherApplication:
    return views.visible_application(session, actor=actor, application_id=application_id)


@dataclass(frozen=True)
class PdfUpload:
    filename: str
    content: bytes


async def read_pdf(request: Request) -> PdfUpload:
    """The multipart ``file`` of an attachment upload (413 past the limit: ``BodyLimit``)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise PDF_MULTIPART()
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise PDF_MISSING(details={"field": "file"})
        return PdfUpload(upload.filename or "contract.pdf", await upload.read())


PdfDep = Annotated[PdfUpload, Depends(read_pdf)]
OwnPool = Annotated[ComputePool, Depends(_own_pool)]
OwnCorpusOffer = Annotated[CorpusOffer, Depends(_own_corpus_offer)]
OwnModelService = Annotated[ModelService, Depends(_own_model_service)]
VisibleApplication = Annotated[VoucherApplication, Depends(_visible_application)]


# ---------------------------------------------------------------- compute pools


@router.get("/pools")
def list_pools(session: SessionDep, actor: PublicActor) -> list[PoolOut]:
    """Every available compute pool (算力池), cheapest card-hour first."""
    return [offers.pool_out(p) for p in offers.list_pools(session)]


@router.post("/pools", status_code=201)
def create_pool(session: SessionDep, actor: SignedInActor, data: PoolIn) -> PoolOut:
    """Offer a compute pool (suppliers for their own organisation; operators for any)."""
    pool = offers.create_pool(session, actor=actor, data=data)
    session.commit()
    return offers.pool_out(pool)


@router.get("/pools/{pool_id}")
def get_pool(session: SessionDep, actor: PublicActor, pool_id: int) -> PoolOut:
    return offers.pool_out(offers.get_pool(session, pool_id))


@router.patch("/pools/{pool_id}")
def update_pool(
    session: SessionDep, actor: SignedInActor, pool: OwnPool, data: PoolPatch
) -> PoolOut:
    offers.update_pool(session, actor=actor, pool_id=pool.id, data=data)
    session.commit()
    return offers.pool_out(pool)


@router.get("/pools/{pool_id}/usage")
def pool_usage(session: SessionDep, actor: SignedInActor, pool: OwnPool) -> list[UsageOut]:
    """Card-hours drawn from the pool (operators and the pool's supplier)."""
    return [offers.usage_out(u) for u in offers.list_usage(session, actor=actor, pool_id=pool.id)]


@router.post("/pools/{pool_id}/usage", status_code=201)
def record_usage(
    session: SessionDep, actor: SignedInActor, pool: OwnPool, data: UsageIn
) -> UsageOut:
    """Record card-hours drawn from the pool against a reference (e.g. a race stage)."""
    usage = offers.record_compute_usage(
        session,
        pool_id=pool.id,
        card_hours=data.card_hours,
        reference_kind=data.reference_kind,
        reference_id=data.reference_id,
        actor=actor,
        used_on=data.used_on,
        note=data.note,
    )
    session.commit()
    return offers.usage_out(usage)


# ---------------------------------------------------------------- corpus offers


@router.get("/corpus-offers")
def list_corpus_offers(session: SessionDep, actor: PublicActor) -> list[CorpusOfferOut]:
    return [offers.corpus_offer_out(o) for o in offers.list_corpus_offers(session)]


@router.post("/corpus-offers", status_code=201)
def create_corpus_offer(
    session: SessionDep, actor: SignedInActor, data: CorpusOfferIn
) -> CorpusOfferOut:
    """Offer a catalogued data set your organisation provides, with price and licence."""
    offer = offers.create_corpus_offer(session, actor=actor, data=data)
    session.commit()
    return offers.corpus_offer_out(offer)


@router.get("/corpus-offers/{offer_id}")
def get_corpus_offer(session: SessionDep, actor: PublicActor, offer_id: int) -> CorpusOfferOut:
    return offers.corpus_offer_out(offers.get_corpus_offer(session, offer_id))


@router.patch("/corpus-offers/{offer_id}")
def update_corpus_offer(
    session: SessionDep, actor: SignedInActor, offer: OwnCorpusOffer, data: CorpusOfferPatch
) -> CorpusOfferOut:
    offers.update_corpus_offer(session, actor=actor, offer_id=offer.id, data=data)
    session.commit()
    return offers.corpus_offer_out(offer)


# ---------------------------------------------------------------- model services


@router.get("/model-services")
def list_model_services(session: SessionDep, actor: PublicActor) -> list[ModelServiceOut]:
    return [offers.model_service_out(o) for o in offers.list_model_services(session)]


@router.post("/model-services", status_code=201)
def create_model_service(
    session: SessionDep, actor: SignedInActor, data: ModelServiceIn
) -> ModelServiceOut:
    """Offer one of your registered models as an API or a private deployment."""
    offer = offers.create_model_service(session, actor=actor, data=data)
    session.commit()
    return offers.model_service_out(offer)


@router.get("/model-services/{service_id}")
def get_model_service(session: SessionDep, actor: PublicActor, service_id: int) -> ModelServiceOut:
    return offers.model_service_out(offers.get_model_service(session, service_id))


@router.patch("/model-services/{service_id}")
def update_model_service(
    session: SessionDep, actor: SignedInActor, offer: OwnModelService, data: ModelServicePatch
) -> ModelServiceOut:
    offers.update_model_service(session, actor=actor, offer_id=offer.id, data=data)
    session.commit()
    return offers.model_service_out(offer)


# ---------------------------------------------------------------- programmes


@router.get("/programmes")
def list_programmes(session: SessionDep, actor: PublicActor) -> list[ProgrammeOut]:
    """Every voucher programme: rules, budget, committed, paid and remaining."""
    return programmes.programmes_out(session, programmes.list_programmes(session))


@router.post("/programmes", status_code=201)
def create_programme(session: SessionDep, actor: OperatorActor, data: ProgrammeIn) -> ProgrammeOut:
    programme = programmes.create_programme(session, actor=actor, data=data)
    session.commit()
    return programmes.programmes_out(session, [programme])[0]


@router.get("/programmes/{programme_id}")
def get_programme(session: SessionDep, actor: PublicActor, programme_id: int) -> ProgrammeOut:
    return programmes.programmes_out(session, [programmes.get_programme(session, programme_id)])[0]


@router.patch("/programmes/{programme_id}")
def update_programme(
    session: SessionDep, actor: OperatorActor, programme_id: int, data: ProgrammePatch
) -> ProgrammeOut:
    """Change a programme; the budget never falls below what is committed (409)."""
    programme = programmes.update_programme(
        session, actor=actor, programme_id=programme_id, data=data
    )
    session.commit()
    return programmes.programmes_out(session, [programme])[0]


# ---------------------------------------------------------------- firm facts


@router.get("/profiles/{organisation_id}")
def get_profile(session: SessionDep, actor: SignedInActor, organisation_id: int) -> ProfileOut:
    """The facts the boost rule reads (operators and the organisation's members)."""
    return programmes.get_profile(session, actor=actor, organisation_id=organisation_id)


@router.put("/profiles/{organisation_id}")
def set_profile(
    session: SessionDep, actor: OperatorActor, organisation_id: int, data: ProfileIn
) -> ProfileOut:
    programmes.set_profile(session, actor=actor, organisation_id=organisation_id, data=data)
    session.commit()
    return programmes.get_profile(session, actor=actor, organisation_id=organisation_id)


@router.get("/relations")
def list_relations(session: SessionDep, actor: OperatorActor) -> list[RelationOut]:
    return programmes.list_relations(session, actor=actor)


@router.post("/relations", status_code=201)
def add_relation(session: SessionDep, actor: OperatorActor, data: RelationIn) -> RelationOut:
    """Record two organisations as related parties (their contracts get no subsidy)."""
    row = programmes.add_relation(session, actor=actor, data=data)
    session.commit()
    return next(r for r in programmes.list_relations(session, actor=actor) if r.id == row.id)


@router.delete("/relations/{relation_id}", status_code=204)
def delete_relation(session: SessionDep, actor: OperatorActor, relation_id: int) -> Response:
    programmes.delete_relation(session, actor=actor, relation_id=relation_id)
    session.commit()
    return Response(status_code=204)


# ---------------------------------------------------------------- applications


@router.get("/applications")
def list_applications(
    session: SessionDep,
    actor: SignedInActor,
    programme_id: int | None = None,
    status: ApplicationStatus | None = None,
) -> list[ApplicationOut]:
    """Your organisation's applications (operators: everyone's)."""
    found = applications.list_applications(
        session, actor=actor, programme_id=programme_id, status=status
    )
    return [applications.application_out(a) for a in found]


@router.post(
    "/applications",
    status_code=201,
    responses={
        409: {"description": "the contract already has an application (duplicate_contract)"}
    },
)
def create_application(
    session: SessionDep, actor: SignedInActor, data: ApplicationIn
) -> ApplicationOut:
    """Apply against a contract; the subsidy is computed from the rules, with its working."""
    application = applications.create_application(session, actor=actor, data=data)
    session.commit()
    return applications.application_out(application)


@router.get("/applications/{application_id}")
def get_application(application: VisibleApplication) -> ApplicationOut:
    return applications.application_out(application)


@router.post(
    "/applications/{application_id}/attachment",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
    responses={413: {"description": "over MOSU_MAX_UPLOAD_MB"}},
)
def upload_attachment(
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    application: VisibleApplication,
    upload: PdfDep,
) -> ApplicationOut:
    """Attach the contract as a PDF (multipart ``file``), refused past the upload limit."""
    updated = attachments.attach(
        session,
        actor=actor,
        application_id=application.id,
        filename=upload.filename,
        content=upload.content,
        data_dir=settings.data_dir,
        max_bytes=settings.max_upload_mb * 1024 * 1024,
    )
    session.commit()
    return applications.application_out(updated)


@router.get("/applications/{application_id}/attachment")
def download_attachment(
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    application: VisibleApplication,
) -> Response:
    name, content = attachments.attachment(
        session, actor=actor, application_id=application.id, data_dir=settings.data_dir
    )
    disposition = (
        f"attachment; filename=\"application-{application.id}.pdf\"; filename*=UTF-8''{quote(name)}"
    )
    return Response(
        content, media_type="application/pdf", headers={"Content-Disposition": disposition}
    )


@router.post("/applications/{application_id}/review")
def review_application(
    session: SessionDep, actor: OperatorActor, application_id: int, data: ReviewIn
) -> ApplicationOut:
    """Approve (optionally reduced, with a reason) or reject (with a reason). An approval
    that would pass the programme's budget is refused with 409 ``over_budget``."""
    application = decisions.review(session, actor=actor, application_id=application_id, data=data)
    session.commit()
    return applications.application_out(application)


@router.post("/applications/{application_id}/claim")
def claim_application(
    session: SessionDep, actor: SignedInActor, application: VisibleApplication, data: ClaimIn
) -> ApplicationOut:
    """After delivery, claim the approved subsidy (the applicant, or an operator)."""
    decisions.claim(session, actor=actor, application_id=application.id, data=data)
    session.commit()
    return applications.application_out(application)


@router.post("/applications/{application_id}/payout")
def record_payout(
    session: SessionDep, actor: OperatorActor, application_id: int, data: PayoutIn
) -> ApplicationOut:
    """Record the payout of a claimed application; paying less releases the rest."""
    application = decisions.payout(session, actor=actor, application_id=application_id, data=data)
    session.commit()
    return applications.application_out(application)


# ---------------------------------------------------------------- ledger and reports


@router.get("/ledger")
def ledger(
    session: SessionDep, actor: OperatorActor, programme_id: int | None = None
) -> list[LedgerOut]:
    """The append-only voucher ledger (operators)."""
    entries = book.list_ledger(session, actor=actor, programme_id=programme_id)
    return [book.ledger_out(e) for e in entries]


@router.get("/report")
def spending_report(
    session: SessionDep, actor: OperatorActor, year: int | None = None
) -> SupplyReport:
    """Committed and paid by programme, kind, organisation tier and month (operators)."""
    return report.build_report(session, actor=actor, year=year)


@router.get(
    "/report.xlsx",
    response_class=Response,
    responses={200: {"description": "the report workbook", "content": {XLSX_MEDIA_TYPE: {}}}},
)
def spending_report_xlsx(
    session: SessionDep, actor: OperatorActor, year: int | None = None
) -> Response:
    data = report.report_xlsx(session, actor=actor, year=year)
    suffix = f"-{year}" if year else ""
    return Response(
        data,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="vouchers{suffix}.xlsx"'},
    )
