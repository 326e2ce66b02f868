"""Registry views: what a page's choices and flags hold for each kind of actor."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from mosu.core.errors import Forbidden
from mosu.permissions import PUBLIC, Actor, Role
from mosu.registry import ai_models, filings, views
from mosu.registry.models import FilingKind, Modality
from mosu.registry.schemas import FilingIn, ModelIn
from tests.conftest import OPERATOR, make_org


def supplier_of(org_id: int) -> Actor:
    return Actor(user_id=1000 + org_id, role=Role.supplier, organisation_id=org_id)


def add_model(session: Session, org_id: int, name: str) -> int:
    data = ModelIn(organisation_id=org_id, name=name, modality=Modality.text)
    return ai_models.create_model(session, actor=OPERATOR, data=data).id


def file(session: Session, model_id: int, number: str) -> None:
    data = FilingIn(model_id=model_id, kind=FilingKind.beian, number=number)
    filings.create_filing(session, actor=OPERATOR, data=data)


def test_choices_are_narrowed_to_the_actors_organisation(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    b = make_org(db, 2, "乙大模型有限公司")
    ma = add_model(db, a, "甲模型")
    mb = add_model(db, b, "乙模型")
    file(db, mb, "Shanghai-Abab-20230821")
    assert {i for i, _ in views.organisation_choices(db, actor=OPERATOR)} == {a, b}
    assert [i for i, _ in views.organisation_choices(db, actor=supplier_of(a))] == [a]
    assert {c[0] for c in views.fileable_model_choices(db, actor=OPERATOR)} == {ma, mb}
    assert [c[0] for c in views.fileable_model_choices(db, actor=supplier_of(a))] == [ma]
    assert {c[0] for c in views.model_choices(db)} == {ma, mb}
    assert views.filed_model_choices(db) == [(mb, "乙模型", "乙大模型有限公司")]


def test_pages_carry_the_actors_capabilities(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    b = make_org(db, 2, "乙大模型有限公司")
    m = add_model(db, a, "甲模型")
    own = views.organisation_page(db, actor=supplier_of(a), organisation_id=a)
    assert (own.can_edit, own.can_add_model, own.can_add_filing) == (True, True, True)
    assert own.org.contact is not None and [x.id for x in own.models] == [m]
    other = views.organisation_page(db, actor=supplier_of(b), organisation_id=a)
    assert (other.can_edit, other.can_add_model, other.org.contact) == (False, False, None)
    assert views.model_page(db, actor=PUBLIC, model_id=m).can_edit is False
    with pytest.raises(Forbidden):
        views.editable_model(db, actor=supplier_of(b), model_id=m)
    with pytest.raises(Forbidden):
        views.editable_organisation(db, actor=supplier_of(b), organisation_id=a)


def test_list_flags() -> None:
    expert = Actor(user_id=7, role=Role.expert)
    assert views.flags(OPERATOR).can_create_organisation and views.flags(OPERATOR).can_add
    assert views.flags(supplier_of(3)).can_add and not views.flags(supplier_of(3)).can_set_standing
    assert not views.flags(expert).can_add and not views.flags(PUBLIC).can_set_regional_total
