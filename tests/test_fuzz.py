"""Property-based fuzzing of every API route from the OpenAPI document (schemathesis), as
the public and as each role: no server error, no response that violates the document.

Routes are read from ``/api/v1/openapi.json`` of the live app, so new routes are fuzzed
without touching this file. Each operation gets ``CASES`` generated requests per identity,
one test per identity (each in a database of its own, so the runners can share them out), on
the primary database only: what the fuzz finds does not depend on the dialect.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase
from schemathesis import APIOperation, Case, openapi
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from sqlalchemy.orm import Session

from mosu.accounts.service import create_api_token
from tests.conftest import LiveServer, World, on_primary_database

pytestmark = [pytest.mark.fuzz, pytest.mark.slow, on_primary_database]

CASES = 4
IDENTITIES = ("public", "supplier_a", "operator")
"""The public, a supplier and the operator: the expert's and the demand side's routes are walked
with their own ids by the permission walk (tests/test_permissions.py)."""
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _fuzzer(
    operation: APIOperation, base_url: str, headers: dict[str, str], statuses: Counter[int]
) -> Callable[[], None]:
    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    return fuzz  # type: ignore[no-any-return]


@pytest.mark.parametrize("who", IDENTITIES)
def test_fuzz_every_route(who: str, live: LiveServer, world: World, db: Session) -> None:
    schema = openapi.from_url(live.url + "/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    for operation in operations:
        headers = {}
        if who != "public":  # a fresh token each time: a fuzzed DELETE /tokens/{id} may
            _, token = create_api_token(db, user_id=world.user_ids[who], name="fuzz")
            db.commit()  # have revoked the previous one
            headers = {"Authorization": f"Bearer {token}"}
        try:
            _fuzzer(operation, live.url, headers, statuses)()
        except BaseExceptionGroup as exc:  # schemathesis' FailureGroup: every distinct failure
            failures.append(f"as {who}: {operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert statuses[200] > 0 and statuses[422] > 0
    assert statuses[401] > 0 if who == "public" else statuses[403] > 0
