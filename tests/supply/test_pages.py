"""Supply pages over real HTTP: the market, forms with errors, the working, who sees what."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from mosu.supply.models import VoucherKind
from tests.conftest import LiveServer, World
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
