"""Spending reports: committed and paid by programme, kind, organisation tier and month,
read from the ledger, and the same as an xlsx workbook (formula-safe)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.core.money import to_yuan
from mosu.permissions import Actor, can_see_supply_reports, ensure
from mosu.registry.models import Tier
from mosu.registry.sheets import write_xlsx_sheets
from mosu.supply.errors import REPORTS_FOR_OPERATORS
from mosu.supply.models import LedgerEntry, LedgerKind, VoucherApplication, VoucherKind
from mosu.supply.programmes import list_programmes
from mosu.supply.schemas import ProgrammeSpend, SpendRow, SupplyReport

SIGN = {LedgerKind.commit: 1, LedgerKind.release: -1, LedgerKind.payout: 0}


class _Sums:
    """Committed and paid fen, and the applications that committed, for one group."""

    def __init__(self) -> None:
        self.committed = 0
        self.paid = 0
        self.applications: set[int] = set()

    def add(self, entry: LedgerEntry) -> None:
        self.committed += SIGN[entry.kind] * entry.amount_fen
        if entry.kind is LedgerKind.payout:
            self.paid += entry.amount_fen
        if entry.kind is LedgerKind.commit:
            self.applications.add(entry.application_id)

    def row(self, key: str) -> SpendRow:
        return SpendRow(
            key=key,
            committed=to_yuan(self.committed),
            paid=to_yuan(self.paid),
            applications=len(self.applications),
        )


def build_report(session: Session, *, actor: Actor, year: int | None = None) -> SupplyReport:
    """Spending from the ledger (operators). ``year`` keeps the lines booked in that year;
    months are those of the business date (approval, release or payout)."""
    ensure(can_see_supply_reports(actor), REPORTS_FOR_OPERATORS)
    programmes = list_programmes(session)
    kind_of = {p.id: p.kind for p in programmes}
    tier_of = {
        k: v
        for k, v in session.execute(
            select(VoucherApplication.id, VoucherApplication.applicant_tier)
        )
    }
    by_programme: dict[int, _Sums] = defaultdict(_Sums)
    by_kind: dict[VoucherKind, _Sums] = defaultdict(_Sums)
    by_tier: dict[Tier, _Sums] = defaultdict(_Sums)
    by_month: dict[str, _Sums] = defaultdict(_Sums)
    total = _Sums()
    for entry in session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)):
        if year is not None and entry.booked_on.year != year:
            continue
        for sums in (
            by_programme[entry.programme_id],
            by_kind[kind_of[entry.programme_id]],
            by_tier[tier_of[entry.application_id]],
            by_month[entry.booked_on.strftime("%Y-%m")],
            total,
        ):
            sums.add(entry)
    rows = []
    for p in programmes:
        sums = by_programme[p.id]
        rows.append(
            ProgrammeSpend(
                **sums.row(str(p.id)).model_dump(),
                name=p.name,
                kind=p.kind,
                budget=to_yuan(p.budget_fen),
                remaining=to_yuan(p.budget_fen - p.committed_fen),
            )
        )
    return SupplyReport(
        programmes=rows,
        by_kind=[by_kind[k].row(k.value) for k in VoucherKind],
        by_tier=[by_tier[t].row(t.value) for t in Tier],
        by_month=[by_month[m].row(m) for m in sorted(by_month)],
        total_committed=to_yuan(total.committed),
        total_paid=to_yuan(total.paid),
    )


KIND_ZH = {VoucherKind.compute: "算力券", VoucherKind.model: "模型券", VoucherKind.corpus: "语料券"}
TIER_ZH = {Tier.core: "北斗七星", Tier.cluster: "群星", Tier.other: "其他"}
STATUS_ZH = {
    "submitted": "待审核",
    "approved": "已批准",
    "rejected": "已驳回",
    "claimed": "待兑付",
    "paid": "已兑付",
}
MONEY_FORMAT = "#,##0.00"


def _spend(rows: Iterable[SpendRow], label: dict[str, str] | None = None) -> list[list[object]]:
    return [[(label or {}).get(r.key, r.key), r.committed, r.paid, r.applications] for r in rows]


def report_xlsx(session: Session, *, actor: Actor, year: int | None = None) -> bytes:
    """The report as a workbook: one sheet per grouping, the applications and the ledger."""
    report = build_report(session, actor=actor, year=year)
    spend = ["已批准（元）", "已兑付（元）", "申请数"]
    kinds = {k.value: v for k, v in KIND_ZH.items()}
    tiers = {k.value: v for k, v in TIER_ZH.items()}
    return write_xlsx_sheets(
        [
            (
                "按项目",
                ["项目", "券种", "预算（元）", "剩余（元）", *spend],
                [
                    [
                        p.name,
                        KIND_ZH[p.kind],
                        p.budget,
                        p.remaining,
                        p.committed,
                        p.paid,
                        p.applications,
                    ]
                    for p in report.programmes
                ],
                [36, 10, 16, 16, 16, 16, 10],
            ),
            ("按券种", ["券种", *spend], _spend(report.by_kind, kinds), [12, 16, 16, 10]),
            ("按梯队", ["梯队", *spend], _spend(report.by_tier, tiers), [12, 16, 16, 10]),
            ("按月份", ["月份", *spend], _spend(report.by_month), [12, 16, 16, 10]),
            _applications_sheet(session),
            _ledger_sheet(session),
        ],
        number_format=MONEY_FORMAT,
    )


def _applications_sheet(session: Session) -> tuple[str, list[str], list[list[object]], list[int]]:
    """Every application, one row each, for the workbook."""
    applications = list(session.scalars(select(VoucherApplication).order_by(VoucherApplication.id)))
    return (
        "申请明细",
        [
            "编号",
            "项目",
            "申请方",
            "梯队",
            "卖方",
            "合同编号",
            "合同金额（元）",
            "签订日期",
            "状态",
            "测算补贴（元）",
            "批准（元）",
            "兑付（元）",
            "理由",
        ],
        [
            [
                a.id,
                a.programme.name,
                a.applicant_name,
                TIER_ZH[a.applicant_tier],
                a.seller_name,
                a.contract_number,
                to_yuan(a.contract_amount_fen),
                a.signed_on,
                STATUS_ZH[a.status.value],
                to_yuan(a.requested_fen),
                to_yuan(a.approved_fen) if a.approved_fen is not None else None,
                to_yuan(a.paid_fen) if a.paid_fen is not None else None,
                a.decision_reason,
            ]
            for a in applications
        ],
        [8, 30, 28, 10, 28, 18, 16, 12, 10, 16, 16, 16, 30],
    )


def _ledger_sheet(session: Session) -> tuple[str, list[str], list[list[object]], list[int]]:
    """Every ledger entry, one row each, for the workbook."""
    ledger = list(session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))
    return (
        "台账",
        ["序号", "项目编号", "申请编号", "类型", "金额（元）", "记账日期", "经办", "备注"],
        [
            [
                e.id,
                e.programme_id,
                e.application_id,
                e.kind.value,
                to_yuan(e.amount_fen),
                e.booked_on,
                e.actor_name,
                e.note,
            ]
            for e in ledger
        ],
        [8, 10, 10, 10, 16, 12, 14, 40],
    )
