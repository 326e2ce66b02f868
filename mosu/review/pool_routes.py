"""The expert pool and the review rubric under ``/api/v1``: experts (专家库) with their load,
declared conflicts, the pool's xlsx/CSV import and export, and a challenge's rubric."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from mosu.accounts.deps import OperatorActor, PublicActor, require
from mosu.core import clock
from mosu.core.limits import ReadLimits
from mosu.deps import SessionDep, SettingsDep
from mosu.permissions import Actor, Role, roles
from mosu.registry.io_routes import UploadDep, import_answer
from mosu.registry.sheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from mosu.review import pool, pool_io, rubric
from mosu.review.models import ExpertProfile
from mosu.review.schemas import RubricIn, RubricOut

router = APIRouter(tags=["expert review"])
_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "sheet": {"type": "string"},
                },
            }
        }
    },
}
ExpertOrOperator = Annotated[Actor, Depends(require(roles(Role.operator, Role.expert)))]


class NewExpertIn(BaseModel):
    """A new expert for the pool: an existing expert user without a profile, or a new
    expert user (without a usable password until an operator sets one)."""

    username: str = Field(min_length=3, max_length=64)
    display_name: str = Field(default="", max_length=100)
    fields: list[str] = Field(default_factory=list, max_length=pool.MAX_FIELDS)
    title: str = Field(default="", max_length=100)
    affiliation_id: int | None = None
    in_pool: bool = True


@router.get("/experts")
def list_experts(
    session: SessionDep,
    actor: OperatorActor,
    field: str = "",
    in_pool: bool | None = None,
    q: str = "",
) -> list[pool.ExpertOut]:
    """The expert pool with each expert's load (operators): filter by ``field`` (exact
    tag), ``in_pool`` and ``q`` (username or name)."""
    return pool.list_pool(session, actor=actor, field=field, in_pool=in_pool, q=q)


@router.post("/experts", status_code=201)
def add_expert(session: SessionDep, actor: OperatorActor, body: NewExpertIn) -> pool.ExpertOut:
    """Put an expert in the pool: a new expert user is created when ``username`` is new
    (an operator then sets their password); an existing expert must have no profile yet."""
    profile = pool.add_expert(
        session,
        actor=actor,
        username=body.username,
        display_name=body.display_name,
        fields=body.fields,
        title=body.title,
        affiliation_id=body.affiliation_id,
        in_pool=body.in_pool,
    )
    session.commit()
    return pool.get_expert(session, actor=actor, user_id=profile.user_id)


@router.post(
    "/experts/import",
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={413: {"description": "upload too large"}, 422: {"description": "nothing imported"}},
)
def import_experts(
    session: SessionDep,
    actor: OperatorActor,
    upload: UploadDep,
    settings: SettingsDep,
    sheet: str | None = None,
) -> pool_io.PoolImportReportOut:
    """Import the pool from xlsx or CSV (专家库导入): every row is checked first; when any
    has a problem nothing is written and the answer is 422 with the report in
    ``error.details``."""
    report = pool_io.import_pool(
        session,
        actor=actor,
        filename=upload.filename,
        content=upload.content,
        sheet=upload.sheet or sheet,
        limits=ReadLimits.from_settings(settings),
    )
    answer: pool_io.PoolImportReportOut = import_answer(session, report, committed=report.ok)
    return answer


@router.get(
    "/experts/export",
    response_class=Response,
    responses={
        200: {"description": "the file", "content": {XLSX_MEDIA_TYPE: {}, CSV_MEDIA_TYPE: {}}}
    },
)
def export_experts(
    session: SessionDep, actor: OperatorActor, format: Literal["xlsx", "csv"] = "xlsx"
) -> Response:
    """The pool as xlsx or CSV under the columns the import reads (专家库导出)."""
    data = pool_io.export_pool(session, actor=actor, fmt=format)
    filename = f"mosu-experts-{clock.today():%Y%m%d}.{format}"
    return Response(
        content=data,
        media_type=XLSX_MEDIA_TYPE if format == "xlsx" else CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/experts/{user_id}")
def get_expert(session: SessionDep, actor: ExpertOrOperator, user_id: int) -> pool.ExpertOut:
    """One expert's profile, conflicts and load: operators and the expert themself."""
    return pool.get_expert(session, actor=actor, user_id=user_id)


@router.put("/experts/{user_id}")
def put_expert(
    session: SessionDep, actor: ExpertOrOperator, user_id: int, body: pool.ExpertIn
) -> pool.ExpertOut:
    """Save an expert's profile. An expert edits their own fields and title; ``in_pool``
    and ``affiliation_id``, left out, keep their stored values (only operators change them)."""
    stored = session.get(ExpertProfile, user_id)
    fields_set = body.model_fields_set
    pool.save_profile(
        session,
        actor=actor,
        user_id=user_id,
        fields=body.fields,
        title=body.title,
        affiliation_id=body.affiliation_id
        if "affiliation_id" in fields_set
        else (stored.affiliation_id if stored else None),
        in_pool=body.in_pool if body.in_pool is not None else (stored.in_pool if stored else True),
    )
    session.commit()
    return pool.get_expert(session, actor=actor, user_id=user_id)


@router.post("/experts/{user_id}/conflicts", status_code=201)
def declare_conflict(
    session: SessionDep, actor: ExpertOrOperator, user_id: int, body: pool.ConflictIn
) -> pool.ConflictOut:
    """Declare a conflict of interest with an organisation (again: its reason changes)."""
    found = pool.declare_conflict(
        session,
        actor=actor,
        expert_id=user_id,
        organisation_id=body.organisation_id,
        reason=body.reason,
    )
    session.commit()
    return pool.ConflictOut(
        organisation_id=found.organisation_id,
        organisation=found.organisation.name_zh,
        reason=found.reason,
    )


@router.delete("/experts/{user_id}/conflicts/{organisation_id}", status_code=204)
def remove_conflict(
    session: SessionDep, actor: ExpertOrOperator, user_id: int, organisation_id: int
) -> Response:
    """Withdraw a declared conflict (204 also when there was none)."""
    pool.remove_conflict(session, actor=actor, expert_id=user_id, organisation_id=organisation_id)
    session.commit()
    return Response(status_code=204)


@router.get("/challenges/{challenge_id}/rubric")
def get_rubric(session: SessionDep, actor: PublicActor, challenge_id: int) -> RubricOut:
    """The challenge's review rubric (评审细则): public once published, operators' before."""
    return rubric.read_rubric(session, actor=actor, challenge_id=challenge_id)


@router.put("/challenges/{challenge_id}/rubric")
def put_rubric(
    session: SessionDep, actor: OperatorActor, challenge_id: int, body: RubricIn
) -> RubricOut:
    """Set the rubric of a draft challenge; once published it is fixed (409)."""
    rubric.set_rubric(session, actor=actor, challenge_id=challenge_id, data=body)
    session.commit()
    return rubric.read_rubric(session, actor=actor, challenge_id=challenge_id)
