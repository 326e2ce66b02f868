"""The metrics that count outside HTTP: race samples and endpoint requests, voucher
commitments, and several processes' values summed from one directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session

from mosu.core.logs import RACE_ID
from mosu.core.metrics import ENV, error_reason, exposition
from mosu.evals.observe import race_observer
from mosu.evals.store import Outcome
from tests.conftest import World
from tests.helpers.supply import apply, approve, make_programme, member


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_race_counts_samples_requests_errors_and_latency() -> None:
    token = RACE_ID.set(4242)
    try:
        observe = race_observer()
    finally:
        RACE_ID.reset(token)
    observe(Outcome("entry-a", "s1", "A", None, attempts=2, latency=0.3))
    observe(Outcome("entry-a", "s2", None, "HTTP 429: slow down", attempts=3))
    observe(Outcome("entry-b", "s1", "B", None, attempts=0, cached=True))
    assert value("mosu_race_samples_total", race="4242") == 3
    assert value("mosu_race_requests_total", race="4242", endpoint="entry-a") == 5
    assert value("mosu_race_requests_total", race="4242", endpoint="entry-b") == 0
    errors = {"race": "4242", "endpoint": "entry-a", "reason": "http_429"}
    assert value("mosu_race_errors_total", **errors) == 1
    latency = {"race": "4242", "endpoint": "entry-a"}
    assert value("mosu_race_request_seconds_count", **latency) == 1
    assert value("mosu_race_request_seconds_sum", **latency) == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("HTTP 503: busy", "http_503"),
        ("request timed out after 30 s", "timeout"),
        ("endpoint address not allowed", "refused"),
        ("malformed JSON response", "malformed"),
        ("ClientConnectorError: cannot connect", "transport"),
        ("something else", "other"),
    ],
)
def test_error_reasons_are_a_bounded_set(error: str, reason: str) -> None:
    assert error_reason(error) == reason


def test_voucher_commitments_count_once_committed(db: Session, world: World) -> None:
    programme = make_programme(db, world)
    kind = programme.kind.value
    before = value("mosu_voucher_commitments_total", kind=kind)
    fen_before = value("mosu_voucher_committed_fen_total", kind=kind)
    buyer = member(world, "supplier_a", world.org_a)
    approved = approve(db, world, apply(db, buyer, programme.id, world.org_b).id)
    assert value("mosu_voucher_commitments_total", kind=kind) == before + 1
    committed = value("mosu_voucher_committed_fen_total", kind=kind) - fen_before
    assert committed == approved.approved_fen > 0


def test_processes_share_their_metrics_through_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "metrics"
    code = (
        "from pathlib import Path; from mosu.core import metrics as m;"
        f"m.use_directory(Path({str(shared)!r}), clear=False);"
        "m.metrics().race_samples.labels('77').inc(5)"
    )
    for _ in range(2):  # two processes, one after the other
        subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
    monkeypatch.setenv(ENV, str(shared))
    body = exposition().decode()
    assert 'mosu_race_samples_total{race="77"} 10.0' in body
