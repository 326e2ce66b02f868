"""Registry rules: organisation uniqueness and standing, filings, the overview figures."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.permissions import Actor, Role
from mosu.registry import ai_models, figures, filings, lookups, organisations, views
from mosu.registry.models import FilingKind, FilingStatus, Layer, Modality, Tier
from mosu.registry.schemas import (
    FilingIn,
    FilingPatch,
    ModelIn,
    ModelPatch,
    OrganisationIn,
    OrganisationPatch,
)
from tests.conftest import OPERATOR, credit_code, make_org


def supplier_of(org_id: int) -> Actor:
    return Actor(user_id=1000 + org_id, role=Role.supplier, organisation_id=org_id)


def add_model(session: Session, org_id: int, name: str, **kw: object) -> int:
    data = ModelIn(organisation_id=org_id, name=name, modality=Modality.text, **kw)  # type: ignore[arg-type]
    return ai_models.create_model(session, actor=OPERATOR, data=data).id


def file(session: Session, model_id: int, number: str, **kw: object) -> int:
    data = FilingIn(model_id=model_id, kind=kw.pop("kind", FilingKind.beian), number=number, **kw)  # type: ignore[arg-type]
    return filings.create_filing(session, actor=OPERATOR, data=data).id


def test_organisation_uniqueness(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    b = make_org(db, 2, "乙大模型有限公司")
    same_name = OrganisationIn(
        name_zh="甲智能科技有限公司", credit_code=credit_code(9), layers=[Layer.model]
    )
    with pytest.raises(Conflict) as name_clash:
        organisations.create_organisation(db, actor=OPERATOR, data=same_name)
    assert name_clash.value.details == {"field": "name_zh"}
    same_code = OrganisationIn(name_zh="丁公司", credit_code=credit_code(1), layers=[Layer.model])
    with pytest.raises(Conflict) as code_clash:
        organisations.create_organisation(db, actor=OPERATOR, data=same_code)
    assert code_clash.value.details == {"field": "credit_code"}
    with pytest.raises(Conflict):
        organisations.update_organisation(
            db,
            actor=OPERATOR,
            organisation_id=b,
            data=OrganisationPatch(name_zh="甲智能科技有限公司"),
        )
    # renaming to its own name is not a clash
    organisations.update_organisation(
        db, actor=OPERATOR, organisation_id=a, data=OrganisationPatch(name_zh="甲智能科技有限公司")
    )


def test_only_operators_create_and_set_standing(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    data = OrganisationIn(name_zh="新公司", credit_code=credit_code(5), layers=[Layer.service])
    with pytest.raises(Forbidden):
        organisations.create_organisation(db, actor=supplier_of(a), data=data)
    for patch in (
        OrganisationPatch(tier=Tier.core),
        OrganisationPatch(resident=True),
        OrganisationPatch(credit_code=credit_code(7)),
        OrganisationPatch(name_zh="改名公司"),
    ):
        with pytest.raises(Forbidden):
            organisations.update_organisation(
                db, actor=supplier_of(a), organisation_id=a, data=patch
            )
    org = organisations.update_organisation(
        db,
        actor=supplier_of(a),
        organisation_id=a,
        data=OrganisationPatch(description="我们做大模型", layers=[Layer.model, Layer.service]),
    )
    assert org.description == "我们做大模型" and org.layers == ["model", "service"]
    b = make_org(db, 2, "乙大模型有限公司")
    with pytest.raises(Forbidden):
        organisations.update_organisation(
            db, actor=supplier_of(b), organisation_id=a, data=OrganisationPatch(description="x")
        )


def test_contact_shown_to_operator_and_members_only(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    b = make_org(db, 2, "乙大模型有限公司")
    org = lookups.get_organisation(db, a)
    for actor, visible in (
        (OPERATOR, True),
        (supplier_of(a), True),
        (supplier_of(b), False),
        (Actor(), False),
        (Actor(user_id=5, role=Role.expert), False),
    ):
        out = organisations.organisation_out(org, actor=actor)
        assert (out.contact is not None) is visible
    page = organisations.list_organisations(db, actor=supplier_of(b))
    contacts = {o.id: o.contact for o in page.items}
    assert contacts[a] is None and contacts[b] is not None


def test_residency_date_cleared_when_not_resident(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司", resident=True, resident_since=dt.date(2023, 9, 1))
    org = organisations.update_organisation(
        db, actor=OPERATOR, organisation_id=a, data=OrganisationPatch(resident=False)
    )
    assert org.resident_since is None


def test_beian_filing(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    m = add_model(db, a, "Abab")
    with pytest.raises(Invalid, match="不符"):
        file(db, m, "Shanghai-Abab-20230821", filed_on=dt.date(2023, 8, 22))
    filing = lookups.get_filing(db, file(db, m, "Shanghai-Abab-20230821"))
    assert filing.region == "Shanghai" and filing.filed_on == dt.date(2023, 8, 21)
    with pytest.raises(Conflict):
        file(db, m, "Shanghai-Abab-20230821")
    with pytest.raises(Invalid, match="备案不填写"):
        file(db, m, "Shanghai-Abab-20230822", based_on_model_id=m)
    n = add_model(db, a, "Other")
    f2 = file(db, n, "Beijing-Other-202401020001", filed_on=dt.date(2024, 1, 2))
    assert lookups.get_filing(db, f2).region == "Beijing"
    with pytest.raises(ValueError, match="地区"):
        FilingIn(model_id=m, kind=FilingKind.beian, number="Atlantis-Abab-20230821")


def test_dengji_needs_an_actively_filed_base_model(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    base = add_model(db, a, "Abab")
    app = add_model(db, a, "Abab助手", base_model_id=base)
    dengji = {"kind": FilingKind.dengji}
    with pytest.raises(Invalid, match="依托"):
        file(db, app, "Shanghai-AbabZhushou-20240105", **dengji)
    with pytest.raises(Invalid, match="没有有效的备案"):
        file(db, app, "Shanghai-AbabZhushou-20240105", based_on_model_id=base, **dengji)
    beian = file(db, base, "Shanghai-Abab-20230821", status=FilingStatus.suspended)
    with pytest.raises(Invalid, match="没有有效的备案"):
        file(db, app, "Shanghai-AbabZhushou-20240105", based_on_model_id=base, **dengji)
    filings.update_filing(
        db, actor=OPERATOR, filing_id=beian, data=FilingPatch(status=FilingStatus.active)
    )
    f = file(db, app, "Shanghai-AbabZhushou-20240105", based_on_model_id=base, **dengji)
    out = filings.filing_out(lookups.get_filing(db, f))
    assert out.based_on_model_name == "Abab" and out.kind is FilingKind.dengji
    with pytest.raises(Invalid):
        filings.update_filing(
            db, actor=OPERATOR, filing_id=f, data=FilingPatch(based_on_model_id=app)
        )
    with pytest.raises(Conflict):  # the 登记 rests on it
        ai_models.delete_model(db, actor=OPERATOR, model_id=base)


def test_filings_only_for_own_models(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    b = make_org(db, 2, "乙大模型有限公司")
    m = add_model(db, a, "Abab")
    data = FilingIn(model_id=m, kind=FilingKind.beian, number="Shanghai-Abab-20230821")
    with pytest.raises(Forbidden):
        filings.create_filing(db, actor=supplier_of(b), data=data)
    f = filings.create_filing(db, actor=supplier_of(a), data=data).id
    with pytest.raises(Forbidden):
        filings.update_filing(
            db, actor=supplier_of(b), filing_id=f, data=FilingPatch(status=FilingStatus.revoked)
        )
    with pytest.raises(Forbidden):
        filings.delete_filing(db, actor=supplier_of(a), filing_id=f)
    filings.delete_filing(db, actor=OPERATOR, filing_id=f)
    with pytest.raises(NotFound):
        lookups.get_filing(db, f)


def test_models_unique_per_organisation_and_owned(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    b = make_org(db, 2, "乙大模型有限公司")
    m = add_model(db, a, "Abab")
    add_model(db, b, "Abab")  # same name in another organisation is fine
    with pytest.raises(Conflict):
        add_model(db, a, "Abab")
    with pytest.raises(Forbidden):
        ai_models.create_model(
            db,
            actor=supplier_of(b),
            data=ModelIn(organisation_id=a, name="Sneaky", modality=Modality.text),
        )
    with pytest.raises(Forbidden):
        ai_models.update_model(db, actor=supplier_of(b), model_id=m, data=ModelPatch(name="x"))
    with pytest.raises(Invalid):
        ai_models.update_model(db, actor=OPERATOR, model_id=m, data=ModelPatch(base_model_id=m))
    with pytest.raises(Invalid):
        add_model(db, a, "Ghost", base_model_id=99999)


def test_deleting_an_organisation_takes_its_models(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    m = add_model(db, a, "Abab")
    file(db, m, "Shanghai-Abab-20230821")
    db.commit()
    organisations.delete_organisation(db, actor=OPERATOR, organisation_id=a)
    db.commit()
    with pytest.raises(NotFound):
        lookups.get_model(db, m)


def test_overview_counts_and_regional_share(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司", tier=Tier.core, resident=True)
    b = make_org(db, 2, "乙大模型有限公司", layers=[Layer.model, Layer.compute])
    make_org(db, 3, "丙区政务服务中心", tier=Tier.other, layers=[Layer.application])
    m1 = add_model(db, a, "Abab")
    m2 = add_model(db, b, "Yi")
    m3 = add_model(db, b, "Yi助手", base_model_id=m2)
    data = ModelIn(organisation_id=b, name="Painter", modality=Modality.image)
    ai_models.create_model(db, actor=OPERATOR, data=data)
    file(db, m1, "Shanghai-Abab-20230821")
    file(db, m2, "Shanghai-Yi-20231105")
    file(db, m2, "Beijing-Yi-20231120", status=FilingStatus.revoked)
    file(db, m3, "Shanghai-YiZhushou-20240110", kind=FilingKind.dengji, based_on_model_id=m2)

    ov = figures.overview(db)
    assert (ov.organisations, ov.resident_organisations, ov.models) == (3, 1, 4)
    assert (ov.filed_models, ov.registered_apps) == (2, 1)
    assert {r.key: r.count for r in ov.by_tier} == {"core": 1, "cluster": 1, "other": 1}
    layers = {r.key: r.count for r in ov.by_layer}
    assert (layers["model"], layers["compute"], layers["application"]) == (2, 1, 1)
    assert {r.key: r.count for r in ov.by_modality}["image"] == 1
    assert [(m.month, m.beian, m.dengji, m.cumulative) for m in ov.filings_by_month] == [
        ("2023-08", 1, 0, 1),
        ("2023-11", 2, 0, 3),
        ("2024-01", 0, 1, 4),
    ]
    assert ov.regional_share is None and ov.regional_filed_total is None

    with pytest.raises(Forbidden):
        figures.set_regional_total(db, actor=supplier_of(a), region="上海", total=80)
    figures.set_regional_total(db, actor=OPERATOR, region="上海", total=80)
    figures.set_regional_total(db, actor=OPERATOR, region="上海市", total=40)
    ov = figures.overview(db)
    assert ov.regional_region == "上海市" and ov.regional_filed_total == 40
    assert ov.regional_share == pytest.approx(2 / 40)


def test_deleting_an_organisation_takes_its_filings_and_registrations(db: Session) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    b = make_org(db, 2, "乙大模型有限公司")
    base = add_model(db, a, "Abab")
    file(db, base, "Shanghai-Abab-20230821")
    own_app = add_model(db, a, "Abab助手", base_model_id=base)
    file(
        db, own_app, "Shanghai-AbabZhushou-20240105", kind=FilingKind.dengji, based_on_model_id=base
    )
    db.commit()
    organisations.delete_organisation(db, actor=OPERATOR, organisation_id=a)
    db.commit()
    assert filings.list_filings(db).total == 0
    assert ai_models.list_models(db).total == 0

    c = make_org(db, 3, "丙公司")
    base = add_model(db, c, "Cbase")
    file(db, base, "Shanghai-Cbase-20230821")
    other_app = add_model(db, b, "乙应用")
    file(db, other_app, "Shanghai-YiApp-20240105", kind=FilingKind.dengji, based_on_model_id=base)
    db.commit()
    with pytest.raises(Conflict):  # another organisation's 登记 rests on c's model
        organisations.delete_organisation(db, actor=OPERATOR, organisation_id=c)
    assert lookups.get_organisation(db, c).name_zh == "丙公司"


def test_organisations_count_their_models_and_the_filed_ones(db: Session) -> None:
    """The list and a profile count an organisation's models, and those with an active 备案
    filing (a 登记 filing is not one), in one statement for the whole page."""
    a = make_org(db, 1, "甲智能科技有限公司")
    b = make_org(db, 2, "乙大模型有限公司")
    filed = add_model(db, a, "甲已备案")
    file(db, filed, "Shanghai-JiaY-20240101")
    registered = add_model(db, a, "甲已登记")
    file(db, registered, "Shanghai-JiaD-20240102", kind=FilingKind.dengji, based_on_model_id=filed)
    add_model(db, a, "甲未备案")
    db.commit()
    page = organisations.list_organisations(db, actor=OPERATOR)
    counts = {o.id: (o.model_count, o.filed_model_count) for o in page.items}
    assert counts == {a: (3, 1), b: (0, 0)}
    assert organisations.model_counts(db, [a, b]) == {a: (3, 1)}
    profile = views.organisation(db, actor=OPERATOR, organisation_id=a)
    assert (profile.model_count, profile.filed_model_count) == (3, 1)
