"""The demo's supply: the 2025 Shanghai figures as programmes, applications in every state,
and amounts that match a hand calculation."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.core.money import to_fen
from mosu.demo.loader import load_community
from mosu.supply import ledger, programmes
from mosu.supply.models import ComputeUsage, VoucherApplication
from mosu.supply.rules import Rules

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_demo_programmes_and_applications(db: Session) -> None:
    load_community(db)
    db.commit()
    by_name = {p.name: p for p in programmes.list_programmes(db)}
    compute = Rules.model_validate(by_name["2025 年度算力券（演示）"].rules)
    model = Rules.model_validate(by_name["2025 年度模型券（演示）"].rules)
    corpus = Rules.model_validate(by_name["2025 年度语料券（演示）"].rules)
    assert str(compute.share) == "0.30" and compute.boost is not None
    assert str(compute.boost.share) == "1.00" and compute.boost.months == 12
    assert str(model.share) == "0.50" and model.cap_per_contract == 5_000_000
    assert str(corpus.share) == "0.30" and corpus.unrelated_parties
    found = {a.contract_number: a for a in db.scalars(select(VoucherApplication))}
    states = {n: a.status.value for n, a in found.items()}
    assert sorted(set(states.values())) == ["approved", "claimed", "paid", "rejected", "submitted"]
    # early-stage firm, six months within its boost year: 100% of 1,200,000
    assert found["LC-2025-0318"].paid_fen == to_fen("1200000")
    # 30% of 3,600,000 = 1,080,000, reduced by the operator to 900,000
    assert found["SW-2025-0045"].requested_fen == to_fen("1080000")
    assert found["SW-2025-0045"].approved_fen == to_fen("900000")
    # 50% of 12,000,000 capped at 5,000,000 a contract
    assert found["HZ-PD-2025-007"].requested_fen == to_fen("5000000")
    assert found["HZ-PD-2025-007"].working["capped_by"] == "cap_contract"
    assert found["QQ-2025-0901"].working["refused"] == "related"
    assert found["MC-2025-0233"].requested_fen == to_fen("144000")
    committed = {p.name: p.committed_fen for p in by_name.values()}
    assert committed["2025 年度算力券（演示）"] == to_fen("2100000")
    assert committed["2025 年度模型券（演示）"] == to_fen("180000")
    assert ledger.ledger_problems(db) == []
    usage = db.scalars(select(ComputeUsage)).one()
    assert usage.cost_fen == to_fen("52.50")  # 12.5 card-hours at 4.20
