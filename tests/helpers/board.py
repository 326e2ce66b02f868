"""A supplier for the board's tests: a filed 政务 model of the world's org_a."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mosu.registry import ai_models, filings
from mosu.registry.models import FilingKind, Modality
from mosu.registry.schemas import FilingIn, ModelIn
from tests.conftest import OPERATOR, World


def hotline_supplier(db: Session, world: World, *, filed: bool = True) -> int:
    """org_a offers a filed 政务 model with 智能客服 and 工单分派 tags."""
    model = ai_models.create_model(
        db,
        actor=OPERATOR,
        data=ModelIn(
            organisation_id=world.org_a,
            name="甲政务大模型",
            modality=Modality.text,
            capability_tags=["智能客服", "工单分派", "政务"],
            description="面向 12345 热线的市民诉求分类与派单",
        ),
    )
    if filed:
        filings.create_filing(
            db,
            actor=OPERATOR,
            data=FilingIn(
                model_id=model.id, kind=FilingKind.beian, number="Shanghai-JiaZW-20240101"
            ),
        )
    db.commit()
    return model.id
