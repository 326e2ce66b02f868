"""Supply pages over real HTTP: the market, forms with errors, the working, who sees what."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from mosu.supply import offers
from mosu.supply.models import VoucherKind
from mosu.supply.schemas import ModelServiceIn, PoolIn
from tests.conftest import LiveServer, World
from tests.helpers.scenarios import make_model
from tests.helpers.signin import browser, signed_in
from tests.helpers.supply import PDF, Supply, apply, approve, make_programme

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_market_and_programme_are_public(live: LiveServer, world: World, db: Session) -> None:
    programme = make_programme(db, world, kind=VoucherKind.compute, name="<b>算力券</b>")
    with browser(live) as public:
        page = public.get("/supply")
        assert page.status_code == 200
        assert "&lt;b&gt;算力券&lt;/b&gt;" in page.text and "<b>算力券</b>" not in page.text
        detail = public.get(f"/supply/programmes/{programme.id}")
        assert detail.status_code == 200 and "30%" in detail.text
        public.cookies.set("lang", "en")
        assert "Voucher programmes" in public.get("/supply").text
        public.cookies.clear()
        assert public.get("/supply/applications").status_code == 303
        assert public.get("/supply/reports").status_code == 303


def test_apply_with_a_pdf_then_see_the_working(live: LiveServer, world: World, db: Session) -> None:
    programme = make_programme(db, world, kind=VoucherKind.model, budget="100000")
    with signed_in(live, world, "supplier_a") as client:
        form = {
            "programme_id": str(programme.id),
            "seller_organisation_id": str(world.org_b),
            "contract_number": "网页-001",
            "contract_amount": "24,000.00",
            "signed_on": "2025-04-01",
            "service_starts_on": "2025-04-01",
            "service_ends_on": "2025-09-30",
        }
        bad = client.post(
            "/supply/applications/new",
            data={**form, "contract_amount": "abc"},
            files={"attachment": ("c.pdf", PDF, "application/pdf")},
        )
        assert bad.status_code == 422 and 'id="f-contract_amount"' in bad.text
        not_pdf = client.post(
            "/supply/applications/new",
            data=form,
            files={"attachment": ("c.pdf", b"GIF89a", "application/pdf")},
        )
        assert not_pdf.status_code == 422 and "PDF" in not_pdf.text
        done = client.post(
            "/supply/applications/new",
            data=form,
            files={"attachment": ("合同.pdf", PDF, "application/pdf")},
        )
        assert done.status_code == 303, done.text
        page = client.get(done.headers["location"])
        assert "12,000.00" in page.text and "合同.pdf" in page.text
        assert 'id="review-form"' not in page.text
        twice = client.post(
            "/supply/applications/new",
            data=form,
            files={"attachment": ("合同.pdf", PDF, "application/pdf")},
        )
        assert twice.status_code == 422 and "该合同已在本项目申请过" in twice.text
    with signed_in(live, world, "supplier_b") as other:
        assert other.get(done.headers["location"]).status_code == 404
        assert "网页-001" not in other.get("/supply/applications").text


def test_review_errors_stay_on_the_page(supply: Supply, live: LiveServer) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world)
    application = apply(db, supply.buyer, programme.id, world.org_b)
    with signed_in(live, world, "operator") as op:
        url = f"/supply/applications/{application.id}"
        reduced = op.post(f"{url}/review", data={"decision": "approve", "amount": "5000"})
        assert reduced.status_code == 422 and "核减须写明理由" in reduced.text
        too_much = op.post(f"{url}/review", data={"decision": "approve", "amount": "99999"})
        assert too_much.status_code == 422 and "超过按规则计算的补贴" in too_much.text
        # an approval of ¥500,000 or more asks first; confirmed, it meets the rules as any
        large = {"decision": "approve", "amount": "600000"}
        asked = op.post(f"{url}/review", data=large)
        assert asked.status_code == 200 and 'id="confirm-yes"' in asked.text
        sure = op.post(f"{url}/review", data={**large, "confirmed": "yes"})
        assert sure.status_code == 422 and "超过按规则计算的补贴" in sure.text
        ok = op.post(
            f"{url}/review", data={"decision": "approve", "amount": "5000", "reason": "核减"}
        )
        assert ok.status_code == 303
        again = op.post(f"{url}/review", data={"decision": "approve"})
        assert again.status_code == 409
        report = op.get("/supply/reports")
        assert report.status_code == 200 and "chart-months" in report.text
        assert 'id="ledger-problems"' not in report.text


def test_reports_are_for_operators(supply: Supply, live: LiveServer) -> None:
    programme = make_programme(supply.db, supply.world)
    approve(
        supply.db, supply.world, apply(supply.db, supply.buyer, programme.id, supply.world.org_b).id
    )
    with signed_in(live, supply.world, "supplier_a") as client:
        assert client.get("/supply/reports").status_code == 403


def test_the_form_lists_the_sellers_offers_previews_and_checks_the_period(
    supply: Supply, live: LiveServer
) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world, kind=VoucherKind.model, budget="100000")
    service = ModelServiceIn(
        model_id=make_model(db, world.org_b), mode="api", price=8, price_unit="million_tokens"
    )
    sold = offers.create_model_service(db, actor=supply.seller, data=service)
    pool = offers.create_pool(
        db,
        actor=supply.seller,
        data=PoolIn(
            name="乙算力池", accelerator="H800", card_count=8, price=12, available_from="2025-01-01"
        ),
    )
    own = service.model_copy(update={"model_id": make_model(db, world.org_a)})
    elsewhere = offers.create_model_service(db, actor=supply.buyer, data=own)
    db.commit()
    form = {
        "programme_id": str(programme.id),
        "seller_organisation_id": str(world.org_b),
        "offer_id": str(sold.id),
        "contract_number": "预览-001",
        "contract_amount": "240,000.00",
        "signed_on": "2025-04-01",
        "service_starts_on": "2025-04-01",
        "service_ends_on": "2025-09-30",
    }
    with signed_in(live, world, "supplier_a") as client:
        options = client.get("/supply/applications/new/offers", params=form).text
        values = set(re.findall(r'<option value="(\d+)"', options))
        assert values == {str(sold.id)}, "the seller's offers of the programme's kind only"
        assert "乙算力池" not in options and pool.id and elsewhere.id
        preview = client.get("/supply/applications/new/preview", params=form).text
        assert 'id="working"' in preview and "100,000.00" in preview, "0.5 × 240,000 capped"
        assert "项目剩余预算" in preview
        step = client.get("/supply/applications/new", params={**form, "preview": "1"})
        assert step.status_code == 200 and 'id="working-total"' in step.text, "without JS"
        assert f'value="{sold.id}" selected' in step.text
        late = {**form, "signed_on": "2026-01-10", "service_starts_on": "2026-01-10"}
        late["service_ends_on"] = "2026-06-30"
        refused = client.get("/supply/applications/new/preview", params=late).text
        assert "不在项目期 2025-01-01 至 2025-12-31 内" in refused
        outside = client.post("/supply/applications/new", data=late)
        assert outside.status_code == 422
        assert "合同签订日期 2026-01-10 不在项目期 2025-01-01 至 2025-12-31 内" in outside.text
        done = client.post("/supply/applications/new", data=form)
        assert done.status_code == 303, done.text
        assert "100,000.00" in client.get(done.headers["location"]).text
