"""The supply API over real HTTP: the flow, duplicates, attachments, and approvals racing
each other for the last of a budget (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import openpyxl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.supply import ledger
from mosu.supply.models import LedgerEntry, LedgerKind, VoucherKind, VoucherProgramme
from tests.conftest import LiveServer, World, client_for
from tests.helpers.supply import PDF, application_data, make_programme


def test_apply_review_claim_payout_over_http(live: LiveServer, world: World, db: Session) -> None:
    programme = make_programme(db, world, kind=VoucherKind.model, budget="100000")
    with (
        client_for(live, world, "supplier_a") as buyer,
        client_for(live, world, "operator") as operator,
        client_for(live, world, "supplier_b") as other,
    ):
        created = buyer.post(
            "/supply/applications",
            json=application_data(programme.id, world.org_b, contract_amount="12345.67"),
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["requested"] == "6172.83"  # 50% of 12,345.67, rounded down to the fen
        assert [s["rule"] for s in body["working"]["steps"]] == ["share"]
        app_id = body["id"]
        twice = buyer.post(
            "/supply/applications",
            json=application_data(
                programme.id, world.org_b, contract_number=body["contract_number"]
            ),
        )
        assert twice.status_code == 409
        assert twice.json()["error"]["code"] == "supply.duplicate_contract"
        assert other.get(f"/supply/applications/{app_id}").status_code == 404
        assert other.get("/supply/applications").json() == []
        attached = buyer.post(
            f"/supply/applications/{app_id}/attachment",
            files={"file": ("合同.pdf", PDF, "application/pdf")},
        )
        assert attached.status_code == 200 and attached.json()["attachment_name"] == "合同.pdf"
        not_pdf = buyer.post(
            f"/supply/applications/{app_id}/attachment",
            files={"file": ("合同.pdf", b"MZ not a pdf", "application/pdf")},
        )
        assert not_pdf.status_code == 422
        assert buyer.get(f"/supply/applications/{app_id}/attachment").content == PDF
        assert other.get(f"/supply/applications/{app_id}/attachment").status_code == 404
        reduced = operator.post(
            f"/supply/applications/{app_id}/review",
            json={"decision": "approve", "amount": "6000", "reason": "部分服务不属补贴范围"},
        )
        assert reduced.status_code == 200, reduced.text
        assert reduced.json()["approved"] == "6000.00"
        assert buyer.post(f"/supply/applications/{app_id}/review", json={}).status_code == 403
        claimed = buyer.post(
            f"/supply/applications/{app_id}/claim", json={"delivered_on": "2025-07-01"}
        )
        assert claimed.status_code == 200 and claimed.json()["status"] == "claimed"
        paid = operator.post(
            f"/supply/applications/{app_id}/payout",
            json={"paid_on": "2025-08-01", "reference": "PAY-1"},
        )
        assert paid.status_code == 200 and paid.json()["paid"] == "6000.00"
        shown = operator.get(f"/supply/programmes/{programme.id}").json()
        assert (shown["committed"], shown["paid"], shown["remaining"]) == (
            "6000.00",
            "6000.00",
            "94000.00",
        )
        ledger = operator.get("/supply/ledger").json()
        assert [(e["kind"], e["amount"]) for e in ledger] == [
            ("commit", "6000.00"),
            ("payout", "6000.00"),
        ]
        assert buyer.get("/supply/ledger").status_code == 403


def test_attachment_over_the_limit_is_refused(live: LiveServer, world: World, db: Session) -> None:
    programme = make_programme(db, world)
    limit = live.server.config.app.state.settings.max_upload_mb * 1024 * 1024
    with client_for(live, world, "supplier_a") as buyer:
        app_id = buyer.post(
            "/supply/applications", json=application_data(programme.id, world.org_b)
        ).json()["id"]
        big = PDF + b"0" * limit
        answer = buyer.post(
            f"/supply/applications/{app_id}/attachment",
            files={"file": ("big.pdf", big, "application/pdf")},
        )
        assert answer.status_code == 413
        assert buyer.get(f"/supply/applications/{app_id}").json()["attachment_size"] == 0


def test_concurrent_approvals_never_pass_the_budget(
    live: LiveServer, world: World, db: Session
) -> None:
    """24 approvals of 10,000 yuan each race for a 95,000 yuan budget: exactly 9 succeed,
    the rest are refused with 409, and the ledger adds up to the committed total."""
    programme = make_programme(db, world, budget="95000")
    with client_for(live, world, "supplier_a") as buyer:
        ids = [
            buyer.post(
                "/supply/applications", json=application_data(programme.id, world.org_b)
            ).json()["id"]
            for _ in range(24)
        ]

    def approve(app_id: int) -> httpx.Response:
        with client_for(live, world, "operator") as operator:
            return operator.post(
                f"/supply/applications/{app_id}/review",
                json={"decision": "approve", "amount": "10000"},
            )

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(approve, ids + ids[:6]))  # some twice: at most one wins
    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) == 9, [a.text for a in answers if a.status_code not in (200, 409)]
    assert codes.count(409) == len(answers) - 9
    db.expire_all()
    found = db.get(VoucherProgramme, programme.id)
    assert found is not None and found.committed_fen == 9 * 1_000_000
    total = db.scalar(
        select(func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.kind == LedgerKind.commit)
    )
    assert total == found.committed_fen
    assert ledger.ledger_problems(db) == []


def test_report_and_xlsx_against_a_hand_calculation(
    live: LiveServer, world: World, db: Session
) -> None:
    model = make_programme(db, world, kind=VoucherKind.model, budget="100000")
    corpus = make_programme(db, world, kind=VoucherKind.corpus, budget="50000")
    with (
        client_for(live, world, "supplier_a") as a,
        client_for(live, world, "demand") as d,
        client_for(live, world, "operator") as op,
    ):
        x = a.post("/supply/applications", json=application_data(model.id, world.org_b)).json()
        y = d.post(
            "/supply/applications",
            json=application_data(corpus.id, world.org_b, contract_amount="=1+1"),
        )
        assert y.status_code == 422  # money is a number, not a formula
        y = d.post(
            "/supply/applications",
            json=application_data(
                corpus.id, world.org_b, contract_amount="3333.33", contract_number="=HYPERLINK(1)"
            ),
        ).json()
        op.post(f"/supply/applications/{x['id']}/review", json={"decision": "approve"})
        op.post(f"/supply/applications/{y['id']}/review", json={"decision": "approve"})
        a.post(f"/supply/applications/{x['id']}/claim", json={"delivered_on": "2025-07-01"})
        op.post(
            f"/supply/applications/{x['id']}/payout",
            json={"paid_on": "2025-08-01", "amount": "9000"},
        )
        report = op.get("/supply/report").json()
        # model: 10,000 approved, 9,000 paid, 1,000 released; corpus: 999.99 approved
        by_kind = {r["key"]: (r["committed"], r["paid"]) for r in report["by_kind"]}
        assert by_kind == {
            "compute": ("0.00", "0.00"),
            "model": ("9000.00", "9000.00"),
            "corpus": ("999.99", "0.00"),
        }
        by_tier = {r["key"]: r["committed"] for r in report["by_tier"]}
        assert by_tier == {"core": "9000.00", "cluster": "0.00", "other": "999.99"}
        assert report["total_committed"] == "9999.99" and report["total_paid"] == "9000.00"
        months = {r["key"]: (r["committed"], r["paid"]) for r in report["by_month"]}
        assert months["2025-08"] == ("-1000.00", "9000.00")
        assert a.get("/supply/report").status_code == 403
        sheet = op.get("/supply/report.xlsx")
        assert sheet.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(sheet.content))
    assert book.sheetnames == ["按项目", "按券种", "按梯队", "按月份", "申请明细", "台账"]
    kinds = {row[0]: row[1] for row in book["按券种"].iter_rows(min_row=2, values_only=True)}
    assert Decimal(str(kinds["模型券"])) == Decimal("9000")
    numbers = [row[5] for row in book["申请明细"].iter_rows(min_row=2, values_only=True)]
    assert "'=HYPERLINK(1)" in numbers  # text, never a formula


def test_the_same_contract_applied_for_at_once_stands_once(
    live: LiveServer, world: World, db: Session
) -> None:
    programme = make_programme(db, world)
    body = application_data(programme.id, world.org_b, contract_number="SAME-0001")

    def submit(_: int) -> httpx.Response:
        with client_for(live, world, "supplier_a") as buyer:
            return buyer.post("/supply/applications", json=body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(a.status_code for a in pool.map(submit, range(8)))
    assert codes == [201] + [409] * 7
