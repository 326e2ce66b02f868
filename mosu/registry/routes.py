"""Registry API under ``/api/v1``: organisations, models, filings, endpoints, overview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from mosu.accounts.deps import OperatorActor, PublicActor, SignedInActor
from mosu.core.credentials import CredentialBox
from mosu.core.pagination import MAX_PER_PAGE, Page
from mosu.deps import SessionDep, SettingsDep
from mosu.evals.netpolicy import AddressPolicy
from mosu.public_cache import PUBLIC_CACHE
from mosu.registry import ai_models, endpoints, figures, filings, organisations, views
from mosu.registry.models import FilingKind, FilingStatus, Layer, Modality, Tier
from mosu.registry.schemas import (
    EndpointIn,
    EndpointOut,
    FilingIn,
    FilingOut,
    FilingPatch,
    ModelIn,
    ModelOut,
    ModelPatch,
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
    Overview,
    RegionalTotalIn,
)

router = APIRouter(tags=["registry"])
PageNo = Annotated[int, Query(ge=1)]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]


async def credential_box(request: Request) -> CredentialBox:
    box: CredentialBox = request.app.state.credential_box
    return box


BoxDep = Annotated[CredentialBox, Depends(credential_box)]


@router.get("/overview", dependencies=[PUBLIC_CACHE])
def get_overview(session: SessionDep, actor: PublicActor) -> Overview:
    """Counts by tier, layer and modality, filings over time, and the regional share."""
    return figures.overview(session)


@router.put("/overview/regional-total", status_code=204)
def put_regional_total(
    session: SessionDep, actor: OperatorActor, body: RegionalTotalIn
) -> Response:
    figures.set_regional_total(session, actor=actor, region=body.region, total=body.total)
    session.commit()
    return Response(status_code=204)


@router.get("/orgs", dependencies=[PUBLIC_CACHE])
def list_orgs(
    session: SessionDep,
    actor: PublicActor,
    q: str = "",
    tier: Tier | None = None,
    layer: Layer | None = None,
    resident: bool | None = None,
    page: PageNo = 1,
    per_page: PerPage = 20,
) -> Page[OrganisationOut]:
    return organisations.list_organisations(
        session,
        actor=actor,
        q=q,
        tier=tier,
        layer=layer,
        resident=resident,
        page=page,
        per_page=per_page,
    )


@router.post("/orgs", status_code=201)
def create_org(session: SessionDep, actor: OperatorActor, body: OrganisationIn) -> OrganisationOut:
    org = organisations.create_organisation(session, actor=actor, data=body)
    session.commit()
    return views.organisation(session, actor=actor, organisation_id=org.id)


@router.get("/orgs/{organisation_id}")
def get_org(session: SessionDep, actor: PublicActor, organisation_id: int) -> OrganisationOut:
    return views.organisation(session, actor=actor, organisation_id=organisation_id)


@router.patch("/orgs/{organisation_id}")
def patch_org(
    session: SessionDep, actor: SignedInActor, organisation_id: int, body: OrganisationPatch
) -> OrganisationOut:
    organisations.update_organisation(
        session, actor=actor, organisation_id=organisation_id, data=body
    )
    session.commit()
    return views.organisation(session, actor=actor, organisation_id=organisation_id)


@router.delete("/orgs/{organisation_id}", status_code=204)
def delete_org(session: SessionDep, actor: OperatorActor, organisation_id: int) -> Response:
    organisations.delete_organisation(session, actor=actor, organisation_id=organisation_id)
    session.commit()
    return Response(status_code=204)


@router.get("/models", dependencies=[PUBLIC_CACHE])
def list_models(
    session: SessionDep,
    actor: PublicActor,
    q: str = "",
    organisation_id: int | None = None,
    modality: Modality | None = None,
    filed: bool | None = None,
    open_weights: bool | None = None,
    page: PageNo = 1,
    per_page: PerPage = 20,
) -> Page[ModelOut]:
    return ai_models.list_models(
        session,
        q=q,
        organisation_id=organisation_id,
        modality=modality,
        filed=filed,
        open_weights=open_weights,
        page=page,
        per_page=per_page,
    )


@router.post("/models", status_code=201)
def create_model(session: SessionDep, actor: SignedInActor, body: ModelIn) -> ModelOut:
    model = ai_models.create_model(session, actor=actor, data=body)
    session.commit()
    return ai_models.model_out(model)


@router.get("/models/{model_id}")
def get_model(session: SessionDep, actor: PublicActor, model_id: int) -> ModelOut:
    return views.model(session, model_id=model_id)


@router.patch("/models/{model_id}")
def patch_model(
    session: SessionDep, actor: SignedInActor, model_id: int, body: ModelPatch
) -> ModelOut:
    model = ai_models.update_model(session, actor=actor, model_id=model_id, data=body)
    session.commit()
    return ai_models.model_out(model)


@router.delete("/models/{model_id}", status_code=204)
def delete_model(session: SessionDep, actor: SignedInActor, model_id: int) -> Response:
    ai_models.delete_model(session, actor=actor, model_id=model_id)
    session.commit()
    return Response(status_code=204)


@router.get("/filings", dependencies=[PUBLIC_CACHE])
def list_filings(
    session: SessionDep,
    actor: PublicActor,
    q: str = "",
    kind: FilingKind | None = None,
    status: FilingStatus | None = None,
    region: str | None = None,
    page: PageNo = 1,
    per_page: PerPage = 20,
) -> Page[FilingOut]:
    return filings.list_filings(
        session, q=q, kind=kind, status=status, region=region, page=page, per_page=per_page
    )


@router.post("/filings", status_code=201)
def create_filing(session: SessionDep, actor: SignedInActor, body: FilingIn) -> FilingOut:
    filing = filings.create_filing(session, actor=actor, data=body)
    session.commit()
    return filings.filing_out(filing)


@router.get("/filings/{filing_id}")
def get_filing(session: SessionDep, actor: PublicActor, filing_id: int) -> FilingOut:
    return views.filing(session, filing_id=filing_id)


@router.patch("/filings/{filing_id}")
def patch_filing(
    session: SessionDep, actor: SignedInActor, filing_id: int, body: FilingPatch
) -> FilingOut:
    filing = filings.update_filing(session, actor=actor, filing_id=filing_id, data=body)
    session.commit()
    return filings.filing_out(filing)


@router.delete("/filings/{filing_id}", status_code=204)
def delete_filing(session: SessionDep, actor: OperatorActor, filing_id: int) -> Response:
    filings.delete_filing(session, actor=actor, filing_id=filing_id)
    session.commit()
    return Response(status_code=204)


@router.get("/endpoints")
def list_endpoints(session: SessionDep, actor: SignedInActor) -> list[EndpointOut]:
    """Endpoints of the caller's organisation (all of them for operators); keys never shown."""
    return views.endpoint_list(session, actor=actor)


@router.post("/endpoints", status_code=201)
def create_endpoint(
    session: SessionDep, actor: SignedInActor, body: EndpointIn, box: BoxDep, settings: SettingsDep
) -> EndpointOut:
    """Register an endpoint; 422 naming why when its URL may not be called (see README)."""
    policy = AddressPolicy(allow_private=settings.allow_private_endpoints)
    endpoint = endpoints.create_endpoint(session, actor=actor, data=body, box=box, policy=policy)
    session.commit()
    return endpoints.endpoint_out(endpoint)


@router.get("/endpoints/{endpoint_id}")
def get_endpoint(session: SessionDep, actor: SignedInActor, endpoint_id: int) -> EndpointOut:
    return views.endpoint(session, actor=actor, endpoint_id=endpoint_id)


@router.delete("/endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(session: SessionDep, actor: SignedInActor, endpoint_id: int) -> Response:
    endpoints.delete_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    session.commit()
    return Response(status_code=204)
