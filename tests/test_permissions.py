"""The permission walker: every route, as every identity, with ids pointing at org_a's objects.

Two guarantees are checked. First, no route exists without declaring what it needs: each
route's dependency tree holds a ``require(...)`` dependency. Second, every route answered as
the public, the operator, a member of org_a, a member of another organisation (org_b), a
demand organisation and an expert never fails with a 5xx, answers with the status the route's
declared requirement and the table below call for, and never shows a credential, a hash, or
an organisation's private data to someone outside it.

The walker is generic over ``app.routes``: pages added later are walked as they appear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu import race as races
from mosu.accounts.models import ApiToken, Notification
from mosu.accounts.service import create_api_token, create_user
from mosu.app import API_PREFIX, create_app
from mosu.arena import service as arena_service
from mosu.arena.schemas import ArenaIn, CompetitorIn
from mosu.board import service as board
from mosu.board.schemas import CaseStudyIn
from mosu.challenges import decisions
from mosu.challenges.models import SubmissionMode
from mosu.core.settings import Settings
from mosu.corpus import catalogue as corpus_catalogue
from mosu.corpus import imports as corpus_imports
from mosu.corpus.models import DatasetVersion
from mosu.corpus.readers import Part
from mosu.corpus.schemas import DatasetIn, ImportOptions
from mosu.deps import SESSION_COOKIE
from mosu.evals.netpolicy import STRICT
from mosu.permissions import Actor, Role
from mosu.race.scoring import stage_data
from mosu.registry import ai_models, endpoints, filings
from mosu.registry.models import FilingKind, Modality, Model, ModelEndpoint, Organisation
from mosu.registry.schemas import EndpointIn, FilingIn, ModelIn
from mosu.review import grading
from mosu.review.models import Blinding, GradingRound, Rubric
from mosu.supply import applications as supply_applications
from mosu.supply import attachments as supply_attachments
from mosu.supply import decisions as supply_decisions
from mosu.supply import offers as supply_offers
from mosu.supply import programmes as supply_programmes
from mosu.supply.rules import Rules
from mosu.supply.schemas import (
    ApplicationIn,
    ClaimIn,
    CorpusOfferIn,
    ModelServiceIn,
    PoolIn,
    ProgrammeIn,
    RelationIn,
    ReviewIn,
)
from tests.conftest import OPERATOR, TEST_SECRET, LiveServer, World, on_primary_database
from tests.helpers import panel_walk
from tests.helpers import scenarios as factory
from tests.helpers.images import image_zip, png_of
from tests.helpers.races import future_window
from tests.helpers.routes import (
    NOT_PERMISSION_CHECKED,
    RouteInfo,
    all_routes,
    checked_routes,
    requirements_of,
)
from tests.helpers.signin import browser, sign_in

pytestmark = pytest.mark.loopback_endpoints  # the fake endpoints run on loopback

SECRET_API_KEY = "sk-secret-XYZ"
IDENTITIES = ("public", "supplier_b", "demand", "expert", "supplier_a", "operator")
SIGNED_IN = frozenset(IDENTITIES) - {"public"}
EVERYONE = frozenset(IDENTITIES)
OWNERS = frozenset({"operator", "supplier_a"})
OPERATOR_ONLY = frozenset({"operator"})
UPLOADERS = frozenset({"operator", "supplier_a", "supplier_b"})
SCENARIO_AUTHORS = frozenset({"operator", "demand"})
APPLICATION_READERS = frozenset({"operator", "supplier_a", "demand"})
UNSEEN = frozenset({"supplier_b", "expert"})
RACE_REPORT_READERS = frozenset({"operator", "demand"})
SECRET_SUBMISSION_NOTE = "甲队提交备注机密"
APPLICANTS = frozenset({"operator", "supplier_a", "supplier_b", "demand"})
SECRET_CONTRACT = "HT-甲-机密-0001"
"""org_a's voucher application's contract number: only org_a's members and operators see it."""
VOTER = frozenset({"expert"})
#: Writes with an id in the URL that are no organisation's: any signed-in voter may draw a battle.
OPEN_TO_EVERY_VOTER = {("POST", f"{API_PREFIX}/arenas/{{arena_id}}/battles")}
HIDDEN_TEST_TEXT = "绝密考题甲乙丙丁戊己庚辛"
HIDDEN_IMAGE = png_of(20261206)
"""The hidden test row's image: its bytes' SHA-256 is shown to operators only."""
HIDDEN_IMAGE_SHA = hashlib.sha256(HIDDEN_IMAGE).hexdigest()
SECRET_PROPOSAL = "甲的揭榜方案机密正文"
SECRET_PDF_TEXT = b"JIA-PROPOSAL-PDF-SECRET"
SECRET_REJECTION = "甲被驳回的保密原因"
SECRET_INTEREST_NOTE = "甲对接意向的保密留言"
EXPERT_SELF = frozenset({"operator", "expert"})
"""An expert's profile and conflicts: operators and the expert themself."""
"""Text only in the walked data set's hidden test split: no one but the operator sees it."""


@pytest.fixture
def bare_app(tmp_path: Path) -> Iterator[FastAPI]:
    """The application, for looking at its routes (no database is touched)."""
    settings = Settings.from_env(
        {}, database_url=f"sqlite:///{tmp_path / 'unused.db'}", secret_key=TEST_SECRET
    )
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


def test_every_route_declares_its_requirement(bare_app: FastAPI) -> None:
    keys = {r.key for r in all_routes(bare_app)}
    assert keys >= NOT_PERMISSION_CHECKED, "an exception above no longer exists; drop it"
    unknown = [k for k in keys if k[0] != "api" and k not in NOT_PERMISSION_CHECKED]
    assert unknown == [], f"routes outside FastAPI's dependency system: {unknown}"
    missing = [
        f"{sorted(r.methods)} {r.path}"
        for r in checked_routes(bare_app)
        if r.dependant is None or not requirements_of(r.dependant)
    ]
    assert missing == [], f"routes without a require(...) dependency: {missing}"


def test_every_api_route_is_in_the_expectation_table(bare_app: FastAPI) -> None:
    api = {
        (m, r.path)
        for r in checked_routes(bare_app)
        if r.path.startswith(API_PREFIX)
        for m in r.methods
    }
    assert sorted(api - EXPECTED.keys()) == [], "declare who may succeed on these routes"
    assert sorted(EXPECTED.keys() - api) == [], "these routes no longer exist"


# ---------------------------------------------------------------- what each API route should do


@dataclass(frozen=True)
class Expect:
    """Who may succeed (and with which status), and what everyone else gets."""

    ok: frozenset[str]
    status: int = 200
    denied: int = 403
    unseen: frozenset[str] = frozenset()
    """Identities that may not even see the object: they are told it does not exist."""
    public: int = 401
    """What the public gets on a route open to it that the object refuses (403)."""

    def __call__(self, who: str) -> int:
        if who in self.ok:
            return self.status
        if who == "public":
            return self.public
        return 404 if who in self.unseen else self.denied


def everyone(status: int = 200) -> Expect:
    return Expect(EVERYONE, status)


def signed_in(status: int = 200) -> Expect:
    return Expect(SIGNED_IN, status)


V1 = API_PREFIX
EXPECTED: dict[tuple[str, str], Expect] = {
    ("GET", f"{V1}/me"): signed_in(),
    ("GET", f"{V1}/tokens"): signed_in(),
    ("POST", f"{V1}/tokens"): signed_in(201),
    # the token in the URL is supplier_a's: anyone else is told it does not exist
    ("DELETE", f"{V1}/tokens/{{token_id}}"): Expect(OWNERS, 200, denied=404),
    ("GET", f"{V1}/users"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/users"): Expect(OPERATOR_ONLY, 201),
    # the walker's current password is wrong: everyone signed in is told so
    ("POST", f"{V1}/me/password"): signed_in(422),
    ("POST", f"{V1}/me/logout-everywhere"): signed_in(),
    ("POST", f"{V1}/users/{{user_id}}/password"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/users/{{user_id}}/deactivate"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/users/{{user_id}}/reactivate"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/overview"): everyone(),
    ("PUT", f"{V1}/overview/regional-total"): Expect(OPERATOR_ONLY, 204),
    ("GET", f"{V1}/orgs"): everyone(),
    ("POST", f"{V1}/orgs"): Expect(OPERATOR_ONLY, 201),
    ("GET", f"{V1}/orgs/{{organisation_id}}"): everyone(),
    ("PATCH", f"{V1}/orgs/{{organisation_id}}"): Expect(OWNERS),
    # org_a has applied to a challenge: its application records keep it (409 for operators)
    ("DELETE", f"{V1}/orgs/{{organisation_id}}"): Expect(OPERATOR_ONLY, 409),
    ("GET", f"{V1}/models"): everyone(),
    ("POST", f"{V1}/models"): Expect(OWNERS, 201),
    ("GET", f"{V1}/models/{{model_id}}"): everyone(),
    ("PATCH", f"{V1}/models/{{model_id}}"): Expect(OWNERS),
    ("DELETE", f"{V1}/models/{{model_id}}"): Expect(OWNERS, 204),
    ("GET", f"{V1}/filings"): everyone(),
    ("POST", f"{V1}/filings"): Expect(OWNERS, 201),
    ("GET", f"{V1}/filings/{{filing_id}}"): everyone(),
    ("PATCH", f"{V1}/filings/{{filing_id}}"): Expect(OWNERS),
    ("DELETE", f"{V1}/filings/{{filing_id}}"): Expect(OPERATOR_ONLY, 204),
    ("GET", f"{V1}/endpoints"): signed_in(),
    ("POST", f"{V1}/endpoints"): Expect(OWNERS, 201),
    # another organisation's endpoint is not found, not merely forbidden
    ("GET", f"{V1}/endpoints/{{endpoint_id}}"): Expect(OWNERS, 200, denied=404),
    ("DELETE", f"{V1}/endpoints/{{endpoint_id}}"): Expect(OWNERS, 204, denied=404),
    # the walker sends no file: the operator is told what is missing
    ("POST", f"{V1}/import/{{kind}}"): Expect(OPERATOR_ONLY, 422),
    ("GET", f"{V1}/export/{{kind}}.{{fmt}}"): Expect(OPERATOR_ONLY),
    # corpus catalogue: cards are public; the walked split is the hidden test split
    ("GET", f"{V1}/corpus/datasets"): everyone(),
    ("POST", f"{V1}/corpus/datasets"): Expect(UPLOADERS, 201),
    ("GET", f"{V1}/corpus/datasets/{{dataset_id}}"): everyone(),
    ("PATCH", f"{V1}/corpus/datasets/{{dataset_id}}"): Expect(OWNERS),
    # the walker sends JSON, not a file: the owners are told what is missing
    ("POST", f"{V1}/corpus/datasets/{{dataset_id}}/versions"): Expect(OWNERS, 422),
    ("GET", f"{V1}/corpus/datasets/{{dataset_id}}/versions/{{version}}"): everyone(),
    ("GET", f"{V1}/corpus/datasets/{{dataset_id}}/versions/{{version}}/splits/{{split}}/rows"): (
        Expect(OPERATOR_ONLY)
    ),
    ("GET", f"{V1}/corpus/datasets/{{dataset_id}}/versions/{{version}}/splits/{{split}}.{{fmt}}"): (
        Expect(OPERATOR_ONLY)
    ),
    # the hidden test row's image and thumbnail: operators only (the public must sign in)
    (
        "GET",
        f"{V1}/corpus/datasets/{{dataset_id}}/versions/{{version}}/rows/{{index}}/images/{{field}}",
    ): Expect(OPERATOR_ONLY),
    # an image by a signed link: the walker holds none, so no role gets the hidden image
    ("GET", f"{V1}/corpus/images/{{sha256}}"): Expect(frozenset(), denied=403, public=403),
    ("POST", f"{V1}/corpus/datasets/{{dataset_id}}/versions/{{version}}/contamination"): Expect(
        OPERATOR_ONLY
    ),
    # scenarios and challenges: the walked challenge is open, issued by org_demand, and
    # supplier_a's organisation has applied to it alone (no consortium)
    ("GET", f"{V1}/scenarios"): everyone(),
    ("POST", f"{V1}/scenarios"): Expect(SCENARIO_AUTHORS, 201),
    ("GET", f"{V1}/scenarios/{{scenario_id}}"): everyone(),
    ("PATCH", f"{V1}/scenarios/{{scenario_id}}"): Expect(SCENARIO_AUTHORS),
    ("GET", f"{V1}/challenges"): everyone(),
    ("POST", f"{V1}/challenges"): Expect(OPERATOR_ONLY, 201),
    ("GET", f"{V1}/challenges/{{challenge_id}}"): everyone(),
    ("PATCH", f"{V1}/challenges/{{challenge_id}}"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/challenges/{{challenge_id}}/transitions"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/challenges/{{challenge_id}}/events"): everyone(),
    ("GET", f"{V1}/challenges/{{challenge_id}}/applications"): everyone(),
    ("POST", f"{V1}/challenges/{{challenge_id}}/applications"): Expect(
        frozenset({"supplier_a"}), 201
    ),
    ("GET", f"{V1}/applications/{{application_id}}"): Expect(APPLICATION_READERS, unseen=UNSEEN),
    ("GET", f"{V1}/applications/{{application_id}}/proposal.pdf"): Expect(
        APPLICATION_READERS, unseen=UNSEEN
    ),
    ("POST", f"{V1}/applications/{{application_id}}/withdraw"): Expect(
        frozenset({"supplier_a"}), unseen=frozenset({"supplier_b"})
    ),
    ("POST", f"{V1}/applications/{{application_id}}/decision"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/applications/{{application_id}}/shortlist"): Expect(OPERATOR_ONLY),
    # the race: the walked challenge is racing with one open predictions stage, org_a's entry
    # alone, and a queued submission of supplier_a (its note a secret of org_a's team)
    ("GET", f"{V1}/challenges/{{challenge_id}}/race"): everyone(),
    ("POST", f"{V1}/challenges/{{challenge_id}}/race/stages"): Expect(OPERATOR_ONLY, 201),
    ("POST", f"{V1}/challenges/{{challenge_id}}/race/baselines"): Expect(OPERATOR_ONLY, 201),
    # already racing, and its stage is open: the operator is told why not
    ("POST", f"{V1}/challenges/{{challenge_id}}/race/start"): Expect(OPERATOR_ONLY, 409),
    ("POST", f"{V1}/challenges/{{challenge_id}}/race/decide"): Expect(OPERATOR_ONLY, 409),
    ("GET", f"{V1}/challenges/{{challenge_id}}/race/report"): Expect(RACE_REPORT_READERS),
    ("POST", f"{V1}/stages/{{stage_id}}/close"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/stages/{{stage_id}}/leaderboard"): everyone(),
    ("GET", f"{V1}/stages/{{stage_id}}/inputs.jsonl"): Expect(OWNERS),
    ("GET", f"{V1}/stages/{{stage_id}}/sample_submission.jsonl"): Expect(OWNERS),
    # the walker sends no file: org_a's team is told what is missing; nobody else has an entry
    ("POST", f"{V1}/stages/{{stage_id}}/submissions"): Expect(
        frozenset({"supplier_a"}), 422, denied=404
    ),
    ("GET", f"{V1}/stages/{{stage_id}}/submissions"): signed_in(),
    ("PUT", f"{V1}/stages/{{stage_id}}/selection"): Expect(frozenset({"supplier_a"})),
    ("GET", f"{V1}/submissions/{{submission_id}}"): Expect(OWNERS, denied=404),
    ("GET", f"{V1}/submissions/{{submission_id}}/predictions"): Expect(OWNERS, denied=404),
    ("GET", f"{V1}/submissions/{{submission_id}}/samples"): Expect(OWNERS, denied=404),
    ("POST", f"{V1}/submissions/{{submission_id}}/cancel"): Expect(OWNERS, denied=404),
    ("POST", f"{V1}/submissions/{{submission_id}}/rerun"): Expect(OPERATOR_ONLY),
    # key-element supply: offers are public, suppliers keep their own; applications are the
    # applicant's and the operator's (another organisation's is not found); money is the operator's
    ("GET", f"{V1}/supply/pools"): everyone(),
    ("POST", f"{V1}/supply/pools"): Expect(OWNERS, 201),
    ("GET", f"{V1}/supply/pools/{{pool_id}}"): everyone(),
    ("PATCH", f"{V1}/supply/pools/{{pool_id}}"): Expect(OWNERS),
    ("GET", f"{V1}/supply/pools/{{pool_id}}/usage"): Expect(OWNERS),
    ("POST", f"{V1}/supply/pools/{{pool_id}}/usage"): Expect(OWNERS, 201),
    ("GET", f"{V1}/supply/corpus-offers"): everyone(),
    ("POST", f"{V1}/supply/corpus-offers"): Expect(OWNERS, 201),
    ("GET", f"{V1}/supply/corpus-offers/{{offer_id}}"): everyone(),
    ("PATCH", f"{V1}/supply/corpus-offers/{{offer_id}}"): Expect(OWNERS),
    ("GET", f"{V1}/supply/model-services"): everyone(),
    ("POST", f"{V1}/supply/model-services"): Expect(OWNERS, 201),
    ("GET", f"{V1}/supply/model-services/{{service_id}}"): everyone(),
    ("PATCH", f"{V1}/supply/model-services/{{service_id}}"): Expect(OWNERS),
    ("GET", f"{V1}/supply/programmes"): everyone(),
    ("POST", f"{V1}/supply/programmes"): Expect(OPERATOR_ONLY, 201),
    ("GET", f"{V1}/supply/programmes/{{programme_id}}"): everyone(),
    ("PATCH", f"{V1}/supply/programmes/{{programme_id}}"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/supply/profiles/{{organisation_id}}"): Expect(OWNERS),
    ("PUT", f"{V1}/supply/profiles/{{organisation_id}}"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/supply/relations"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/supply/relations"): Expect(OPERATOR_ONLY, 201),
    ("DELETE", f"{V1}/supply/relations/{{relation_id}}"): Expect(OPERATOR_ONLY, 204),
    ("GET", f"{V1}/supply/applications"): signed_in(),
    # members of an organisation apply for it; an expert belongs to none
    ("POST", f"{V1}/supply/applications"): Expect(APPLICANTS, 201),
    ("GET", f"{V1}/supply/applications/{{application_id}}"): Expect(OWNERS, 200, denied=404),
    # the walker sends JSON, not a PDF: the owners are told what is missing
    ("POST", f"{V1}/supply/applications/{{application_id}}/attachment"): Expect(
        OWNERS, 422, denied=404
    ),
    ("GET", f"{V1}/supply/applications/{{application_id}}/attachment"): Expect(
        OWNERS, 200, denied=404
    ),
    ("POST", f"{V1}/supply/applications/{{application_id}}/review"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/supply/applications/{{application_id}}/claim"): Expect(OWNERS, 200, denied=404),
    ("POST", f"{V1}/supply/applications/{{application_id}}/payout"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/supply/ledger"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/supply/report"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/supply/report.xlsx"): Expect(OPERATOR_ONLY),
    # arena: the walked battle was served to the expert; to anyone else it does not exist
    ("GET", f"{V1}/arenas"): everyone(),
    ("POST", f"{V1}/arenas"): Expect(OPERATOR_ONLY, 201),
    # the walker sends JSON, not the multipart zip the route reads: refused after the role
    ("POST", f"{V1}/arenas/upload"): Expect(OPERATOR_ONLY, 422),
    ("GET", f"{V1}/arenas/{{arena_id}}"): everyone(),
    ("POST", f"{V1}/arenas/{{arena_id}}/competitors"): Expect(OPERATOR_ONLY, 201),
    ("POST", f"{V1}/arenas/{{arena_id}}/answers"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/arenas/{{arena_id}}/battles"): signed_in(201),
    ("GET", f"{V1}/arenas/{{arena_id}}/battles/{{battle_id}}"): Expect(VOTER, 200, denied=404),
    ("POST", f"{V1}/arenas/{{arena_id}}/battles/{{battle_id}}/vote"): Expect(
        VOTER, 200, denied=404
    ),
    ("POST", f"{V1}/arenas/{{arena_id}}/judge"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/arenas/{{arena_id}}/leaderboard"): everyone(),
    ("GET", f"{V1}/arenas/{{arena_id}}/agreement"): everyone(),
    ("GET", f"{V1}/arenas/{{arena_id}}/voters"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/arenas/{{arena_id}}/votes"): Expect(OPERATOR_ONLY, 201),
    ("GET", f"{V1}/arenas/{{arena_id}}/votes.jsonl"): everyone(),
    # supply–demand board: org_a's case study, a fresh open scenario of org_demand for
    # interest (marked for org_a: its members and operators), the demand user's notification
    ("GET", f"{V1}/orgs/{{organisation_id}}/case-studies"): everyone(),
    ("POST", f"{V1}/orgs/{{organisation_id}}/case-studies"): Expect(OWNERS, 201),
    ("PATCH", f"{V1}/case-studies/{{case_study_id}}"): Expect(OWNERS),
    ("DELETE", f"{V1}/case-studies/{{case_study_id}}"): Expect(OWNERS, 204),
    ("GET", f"{V1}/scenarios/{{scenario_id}}/recommendations"): everyone(),
    ("GET", f"{V1}/orgs/{{organisation_id}}/scenario-matches"): everyone(),
    ("GET", f"{V1}/orgs/{{organisation_id}}/interests"): Expect(OWNERS),
    ("PUT", f"{V1}/orgs/{{organisation_id}}/interests/{{scenario_id}}"): Expect(OWNERS, 201),
    ("DELETE", f"{V1}/orgs/{{organisation_id}}/interests/{{scenario_id}}"): Expect(OWNERS, 204),
    ("GET", f"{V1}/notifications"): signed_in(),
    ("POST", f"{V1}/notifications/read-all"): signed_in(),
    # the walked notification is the demand user's: to anyone else it does not exist
    ("POST", f"{V1}/notifications/{{notification_id}}/read"): Expect(
        frozenset({"demand"}), denied=404
    ),
    # the expert pool: operators, and the walked expert's own profile (its {user_id});
    # the walker sends JSON to the import, not a file; the walked challenge has a rubric
    ("GET", f"{V1}/experts"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/experts"): Expect(OPERATOR_ONLY, 201),
    ("POST", f"{V1}/experts/import"): Expect(OPERATOR_ONLY, 422),
    ("GET", f"{V1}/experts/export"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/experts/{{user_id}}"): Expect(EXPERT_SELF),
    ("PUT", f"{V1}/experts/{{user_id}}"): Expect(EXPERT_SELF),
    ("POST", f"{V1}/experts/{{user_id}}/conflicts"): Expect(EXPERT_SELF, 201),
    ("DELETE", f"{V1}/experts/{{user_id}}/conflicts/{{organisation_id}}"): Expect(EXPERT_SELF, 204),
    ("GET", f"{V1}/challenges/{{challenge_id}}/rubric"): everyone(),
    # writes get a fresh draft challenge
    ("PUT", f"{V1}/challenges/{{challenge_id}}/rubric"): Expect(OPERATOR_ONLY),
    # review decision: the walked challenge's panel (双盲) has closed, org_a's and org_b's
    # applications scored with comments; it has a combined rule and no race yet
    ("GET", f"{V1}/challenges/{{challenge_id}}/panel-results"): everyone(),
    ("GET", f"{V1}/challenges/{{challenge_id}}/shortlist-proposal"): everyone(),
    ("POST", f"{V1}/challenges/{{challenge_id}}/shortlist-proposal"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/challenges/{{challenge_id}}/combined"): Expect(RACE_REPORT_READERS, public=403),
    # no race has run: the operator is told to close every stage first
    ("POST", f"{V1}/challenges/{{challenge_id}}/combined-decision"): Expect(OPERATOR_ONLY, 409),
    # expert grading: a closed generative stage with a closed round and an open one whose
    # expert is the walk's; its items are the expert's alone (operators open and close)
    ("POST", f"{V1}/stages/{{stage_id}}/grading-rounds"): Expect(OPERATOR_ONLY, 201),
    ("GET", f"{V1}/stages/{{stage_id}}/grading"): everyone(),
    ("GET", f"{V1}/grading-rounds/{{round_id}}/items"): Expect(VOTER),
    ("PUT", f"{V1}/grading-items/{{item_id}}/grade"): Expect(VOTER),
    ("POST", f"{V1}/grading-rounds/{{round_id}}/close"): Expect(OPERATOR_ONLY),
    ("GET", f"{V1}/me/grading-queue"): Expect(VOTER),
}

# 专家评审: the walked panel is open, 双盲, and the walker's expert sits on it (confirmed);
# writes get a fresh panel of the same experts (the expert confirmed for scoring)
PANELIST = frozenset({"expert"})
EXPECTED.update(
    {
        ("POST", f"{V1}/challenges/{{challenge_id}}/panel"): Expect(OPERATOR_ONLY, 201),
        ("GET", f"{V1}/challenges/{{challenge_id}}/panel"): everyone(),
        ("POST", f"{V1}/panels/{{panel_id}}/confirm"): Expect(PANELIST),
        ("POST", f"{V1}/panels/{{panel_id}}/recuse"): Expect(PANELIST | OPERATOR_ONLY),
        ("POST", f"{V1}/panels/{{panel_id}}/deadline"): Expect(OPERATOR_ONLY),
        ("POST", f"{V1}/panels/{{panel_id}}/close"): Expect(OPERATOR_ONLY),
        ("GET", f"{V1}/panels/{{panel_id}}/applications"): Expect(PANELIST),
        ("PUT", f"{V1}/panels/{{panel_id}}/applications/{{application_id}}/score"): Expect(
            PANELIST
        ),
        ("GET", f"{V1}/panels/{{panel_id}}/applications/{{application_id}}/proposal.pdf"): Expect(
            PANELIST
        ),
        ("GET", f"{V1}/me/review-queue"): Expect(PANELIST),
    }
)


#: Routes with a data set in the URL, walked again with a data set whose providing
#: organisation is org_demand: its demand member belongs to it, yet only operators and the
#: organisation's suppliers manage a corpus (it has none), so only the operator succeeds.
ON_DEMAND_DATASET: dict[tuple[str, str], Expect] = {
    ("PATCH", f"{V1}/corpus/datasets/{{dataset_id}}"): Expect(OPERATOR_ONLY),
    ("POST", f"{V1}/corpus/datasets/{{dataset_id}}/versions"): Expect(OPERATOR_ONLY, 422),
    ("GET", "/corpus/{dataset_id}/import"): Expect(OPERATOR_ONLY),
    # the walker posts an empty form: the operator is shown the form again with what is missing
    ("POST", "/corpus/{dataset_id}/import"): Expect(OPERATOR_ONLY, 422),
}


# ---------------------------------------------------------------- the world being walked


@dataclass
class Walk:
    """org_a's objects, how to make fresh ones for writes, and what must never be shown."""

    world: World
    db: Session
    model_a: int = 0
    filing_a: int = 0
    endpoint_a: int = 0
    token_a: int = 0
    dataset_a: int = 0
    dataset_demand: int = 0
    scenario_a: int = 0
    challenge_a: int = 0
    application_a: int = 0
    race_challenge: int = 0
    race_version: int = 0
    stage_a: int = 0
    entry_a: int = 0
    submission_a: int = 0
    supply: SupplyWalk | None = None
    arena_a: int = 0
    battle_a: int = 0
    case_study_a: int = 0
    notification_a: int = 0
    panel: panel_walk.PanelWalk | None = None
    review_challenge: int = 0
    review_proposal: list[int] = field(default_factory=list)
    operator: Actor = OPERATOR
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    private: dict[str, frozenset[str]] = field(default_factory=dict)
    grading_stage: int = 0
    grading_round: int = 0
    grading_item: int = 0

    def next(self) -> int:
        return next(self.counter)

    def fresh_model(self) -> int:
        data = ModelIn(
            organisation_id=self.world.org_a,
            name=f"甲受害模型{self.next()}",
            modality=Modality.text,
        )
        model_id = ai_models.create_model(self.db, actor=OPERATOR, data=data).id
        self.db.commit()
        return model_id

    def fresh_filing(self) -> int:
        n = self.next()
        data = FilingIn(
            model_id=self.fresh_model(),
            kind=FilingKind.beian,
            number=f"Shanghai-Victim{n}-20240102",
        )
        filing_id = filings.create_filing(self.db, actor=OPERATOR, data=data).id
        self.db.commit()
        return filing_id

    def fresh_endpoint(self, box: Any) -> int:
        data = EndpointIn(
            organisation_id=self.world.org_a,
            name=f"甲受害接入点{self.next()}",
            base_url="https://victim-a.example.cn/v1",
            model_name="victim",
            api_key=SECRET_API_KEY,  # type: ignore[arg-type]
        )
        endpoint_id = endpoints.create_endpoint(
            self.db, actor=self.operator, data=data, box=box, policy=STRICT
        ).id
        self.db.commit()
        return endpoint_id

    def fresh_battle(self) -> int:
        """A battle served to the expert (the walk's voter)."""
        arena = arena_service.get_arena(self.db, self.arena_a)
        voter = Actor(user_id=self.world.user_ids["expert"], role=Role.expert)
        battle = arena_service.new_battle(self.db, arena, random.Random(), voter_id=voter.user_id)
        self.db.commit()
        return battle.id

    def fresh_case_study(self) -> int:
        case = board.create_case_study(
            self.db,
            actor=self.operator,
            organisation_id=self.world.org_a,
            data=CaseStudyIn(title=f"甲受害案例{self.next()}"),
        )
        self.db.commit()
        return case.id

    def fresh_interest(self) -> int:
        """A fresh open scenario in which org_a has marked interest (to withdraw it)."""
        scenario = factory.make_scenario(self.db, self.world)
        board.mark_interest(
            self.db, actor=self.operator, organisation_id=self.world.org_a, scenario_id=scenario.id
        )
        self.db.commit()
        return scenario.id

    def fresh_token(self) -> int:
        row, _ = create_api_token(
            self.db, user_id=self.world.user_ids["supplier_a"], name="甲的另一令牌"
        )
        self.db.commit()
        return row.id

    def fresh_user(self) -> int:
        """A member of org_a for the operator to reset, deactivate or reactivate."""
        user = create_user(
            self.db,
            username=f"walked{self.next()}",
            password="walked-user-password",
            role=Role.supplier,
            organisation_id=self.world.org_a,
        )
        self.db.commit()
        return user.id


def build_walk(app: FastAPI, db: Session, world: World) -> Walk:
    operator = Actor(user_id=world.user_ids["operator"], role=Role.operator)
    walk = Walk(world=world, db=db, operator=operator)
    box = app.state.credential_box
    model = ai_models.create_model(
        db,
        actor=OPERATOR,
        data=ModelIn(organisation_id=world.org_a, name="甲大模型", modality=Modality.text),
    )
    walk.model_a = model.id
    filing = filings.create_filing(
        db,
        actor=OPERATOR,
        data=FilingIn(model_id=model.id, kind=FilingKind.beian, number="Shanghai-Jia-20230821"),
    )
    walk.filing_a = filing.id
    endpoint = endpoints.create_endpoint(
        db,
        actor=operator,
        data=EndpointIn(
            organisation_id=world.org_a,
            model_id=model.id,
            name="甲私有接入点",
            base_url="https://private-a.example.cn/v1",
            model_name="jia-private",
            api_key=SECRET_API_KEY,  # type: ignore[arg-type]
        ),
        box=box,
        policy=STRICT,
    )
    walk.endpoint_a = endpoint.id
    db.commit()
    walk.token_a = walk.fresh_token()
    walk.dataset_a = walk_dataset(db, world)
    walk.dataset_demand = corpus_catalogue.create_dataset(
        db, actor=operator, data=DatasetIn(name="丙的语料", organisation_id=world.org_demand)
    ).id
    db.commit()
    walk.supply = walk_supply(app, db, world, walk)
    walk.arena_a, walk.battle_a = walk_arena(db, world)

    def contact(org_id: int) -> set[str]:
        org = db.get(Organisation, org_id)
        assert org is not None and org.contact_phone and org.contact_email
        return {org.contact_phone, org.contact_email}

    walk.private = {
        "operator": frozenset(),
        "supplier_a": frozenset(contact(world.org_b) | contact(world.org_demand)),
        "supplier_b": frozenset(
            contact(world.org_a) | contact(world.org_demand) | {"甲私有接入点", "private-a.example"}
        ),
        "demand": frozenset(
            contact(world.org_a) | contact(world.org_b) | {"甲私有接入点", "private-a.example"}
        ),
    }
    outsiders = contact(world.org_a) | contact(world.org_b) | contact(world.org_demand)
    outsiders |= {"甲私有接入点", "private-a.example", "甲受害接入点", "victim-a.example"}
    walk.private["expert"] = frozenset(outsiders)
    walk.private["public"] = frozenset(outsiders)
    for who in walk.private:
        if who != "operator":
            walk.private[who] |= {HIDDEN_TEST_TEXT, HIDDEN_IMAGE_SHA}
        if who not in OWNERS:
            walk.private[who] |= {SECRET_CONTRACT}
    walk_challenges(app, walk)
    walk_grading(app, walk)  # before the walked race: its submission stays queued
    walk_race(app, walk)
    walk_board(walk)
    walk_panel(app, walk)
    walk_review(walk)
    return walk


def walk_panel(app: FastAPI, walk: Walk) -> None:
    """A 双盲 panel, open, whose three members (the walker's expert among them) have all
    scored: no score comment shows to anyone but its author (see tests/helpers/panel_walk)."""
    walk.panel = panel_walk.build_panel_walk(
        walk.db, walk.world, model_id=walk.model_a, data_dir=app.state.settings.data_dir
    )
    for who, secrets in panel_walk.secrets_of(walk.panel).items():
        walk.private[who] |= secrets


def _panel(walk: Walk) -> panel_walk.PanelWalk:
    assert walk.panel is not None
    return walk.panel


SECRET_REVIEW_COMMENT = "甲队：专家评语机密"
REVIEW_PATH = re.compile(
    r"/challenges/\{challenge_id\}/(panel-results|shortlist|decision|combined)"
)


def fresh_review(walk: Walk) -> int:
    """A challenge whose 双盲 panel has closed: 甲队 (org_a) and 乙队 (org_b) scored by five
    experts (the first the world's expert), with a combined rule; its proposal is kept for
    the confirming write."""
    from tests.helpers.review import reviewed_challenge

    scores = {
        "甲队": [(8, 5), (9, 7), (7, 6), (10, 10), (6, 5)],
        "乙队": [(6, 5), (7, 6), (7, 6), (6, 5), (5, 5)],
    }
    rule = {"review_weight": 0.6, "race_weight": 0.4}
    reviewed = reviewed_challenge(
        walk.db, walk.world, scores, blinding=Blinding.double, combined=rule, comment="专家评语机密"
    )
    walk.db.commit()
    walk.review_proposal = [a.id for a in reviewed.applications.values()]
    return reviewed.challenge.id


def walk_review(walk: Walk) -> None:
    """The walked reviewed challenge: 甲队's comments are org_a's (and operators') to read."""
    walk.review_challenge = fresh_review(walk)
    for who in ("supplier_b", "demand", "expert", "public"):
        walk.private[who] |= {SECRET_REVIEW_COMMENT}


def walk_board(walk: Walk) -> None:
    """org_a's case study, and org_a's interest in the walked scenario, which notified the
    demand user (the notification's note is the demand organisation's to read)."""
    walk.case_study_a = walk.fresh_case_study()
    scenario = factory.make_scenario(walk.db, walk.world)
    board.mark_interest(
        walk.db,
        actor=factory.actor(walk.world, "supplier_a"),
        organisation_id=walk.world.org_a,
        scenario_id=scenario.id,
        note=SECRET_INTEREST_NOTE,
    )
    walk.db.commit()
    walk.notification_a = walk.db.scalars(
        select(Notification.id).where(Notification.kind == "interest")
    ).one()
    for who in ("supplier_b", "expert", "public"):
        walk.private[who] |= {SECRET_INTEREST_NOTE}


def walk_challenges(app: FastAPI, walk: Walk) -> None:
    """An open challenge of org_demand with two applications of org_a: one carrying a
    proposal and a PDF (for the operator, the issuer and org_a), one rejected with a reason
    (for the operator and org_a only)."""
    db, world = walk.db, walk.world
    data_dir = app.state.settings.data_dir
    challenge = factory.make_challenge(db, world)
    walk.scenario_a, walk.challenge_a = challenge.scenario_id, challenge.id
    walk.application_a = factory.make_application(
        db,
        world,
        challenge,
        model_id=walk.model_a,
        data_dir=data_dir,
        proposal=SECRET_PROPOSAL,
        pdf=factory.PDF + SECRET_PDF_TEXT,
    ).id
    db.add(
        Rubric(challenge_id=challenge.id, criteria=[{"key": "t", "name": "技术", "weight": 100}])
    )
    rejected = factory.make_application(
        db, world, challenge, model_id=walk.model_a, data_dir=data_dir
    )
    decisions.decide_application(
        db,
        actor=factory.actor(world, "operator"),
        application_id=rejected.id,
        approve=False,
        reason=SECRET_REJECTION,
    )
    db.commit()
    for who in ("supplier_b", "expert", "public"):
        walk.private[who] |= {SECRET_PROPOSAL, SECRET_PDF_TEXT.decode(), SECRET_REJECTION}
    walk.private["demand"] |= {SECRET_REJECTION}


def walk_grading(app: FastAPI, walk: Walk) -> None:
    """A closed generative stage judged by a model: a round the expert graded, closed, and
    an open one; the judge's verdicts are never shown."""
    from tests.helpers import grading as graded

    data_dir = app.state.settings.data_dir
    stage = graded.graded_stage(walk.db, walk.world, data_dir, kinds=[races.SUBMISSION_JOB])
    walk.grading_stage = stage.stage.id
    expert = Actor(user_id=walk.world.user_ids["expert"], role=Role.expert)
    done = fresh_grading_round(app, walk)
    for item in walk.db.get(GradingRound, done).items:  # type: ignore[union-attr]
        grading.grade(walk.db, actor=expert, item_id=item.id, scores={"overall": 7})
    grading.close_round(walk.db, actor=walk.operator, round_id=done, data_dir=data_dir)
    walk.db.commit()
    walk.grading_round = fresh_grading_round(app, walk)
    walk.grading_item = walk.db.get(GradingRound, walk.grading_round).items[0].id  # type: ignore[union-attr]
    for who in walk.private:
        walk.private[who] |= {graded.VERDICT_NOTE}


def fresh_grading_round(app: FastAPI, walk: Walk) -> int:
    """An open rubric round on the walked generative stage, graded by the walk's expert."""
    from tests.helpers.grading import open_round

    data_dir = app.state.settings.data_dir
    expert = walk.world.user_ids["expert"]
    return open_round(walk.db, walk.grading_stage, data_dir, [expert], sample_size=2).id


def walk_race(app: FastAPI, walk: Walk) -> None:
    """A racing challenge of org_demand: one open predictions stage, org_a's entry alone, and
    a queued submission of supplier_a."""
    from tests.helpers.races import hotline_version

    version = hotline_version(walk.db)
    walk.race_version = version.id
    challenge_id, stage_id = fresh_race(walk)
    walk.race_challenge, walk.stage_a = challenge_id, stage_id
    walk.entry_a = races.entries_of(walk.db, challenge_id)[0].id
    walk.submission_a = fresh_submission(app, walk, note=SECRET_SUBMISSION_NOTE)
    for who in ("supplier_b", "demand", "expert", "public"):
        walk.private[who] |= {SECRET_SUBMISSION_NOTE}


def fresh_race(walk: Walk) -> tuple[int, int]:
    """A new racing challenge (org_a's entry alone) and its open predictions stage."""
    from tests.helpers.races import racing_challenge, stage_spec

    version = walk.db.get(DatasetVersion, walk.race_version)
    assert version is not None
    race = racing_challenge(walk.db, walk.world, version=version, teams=("甲队",))
    spec = stage_spec(
        "初赛", mode=SubmissionMode.predictions, version_id=version.id, daily=1000, total=1000
    )
    stage = races.add_stage(walk.db, actor=walk.operator, challenge_id=race.challenge.id, spec=spec)
    races.start_race(walk.db, actor=walk.operator, challenge_id=race.challenge.id)
    walk.db.commit()
    return race.challenge.id, stage.id


def fresh_submission(app: FastAPI, walk: Walk, note: str = "") -> int:
    """A queued predictions submission of supplier_a at the walked stage."""
    from tests.helpers.races import answer_key, predictions_file, supplier

    stage = races.get_stage(walk.db, walk.stage_a)
    version = walk.db.get(DatasetVersion, walk.race_version)
    assert version is not None
    ids = [s.id for s in stage_data(walk.db, stage).task.samples()]
    submission = races.submit(
        walk.db,
        actor=supplier(walk.world, "supplier_a", walk.world.org_a),
        stage_id=stage.id,
        data_dir=app.state.settings.data_dir,
        predictions=predictions_file(answer_key(walk.db, version), ids),
        note=note,
    )
    walk.db.commit()
    return submission.id


def walk_dataset(db: Session, world: World) -> int:
    """org_a's data set: public train and dev, a hidden test row that overlaps dev (so the
    contamination check quotes it, for operators only)."""
    tail = "这是一段与验证集完全相同的较长文字内容用于检测重叠情况"
    lines = [
        {"id": "t1", "text": "训练集第一条公开文本内容", "label": "甲", "split": "train"},
        {"id": "t2", "text": "训练集第二条公开文本说明", "label": "乙", "split": "train"},
        {"id": "d1", "text": "验证集：" + tail, "label": "甲", "split": "dev"},
        {"id": "x1", "text": HIDDEN_TEST_TEXT + tail, "label": "乙", "split": "test"},
    ]
    for line in lines:
        line["image"] = f"{line['id']}.png"
    pictures = {f"{x['id']}.png": png_of(n + 1) for n, x in enumerate(lines[:-1])}
    content = image_zip(lines, {**pictures, "x1.png": HIDDEN_IMAGE})
    operator = Actor(user_id=world.user_ids["operator"], role=Role.operator)
    dataset = corpus_catalogue.create_dataset(
        db, actor=operator, data=DatasetIn(name="甲的语料", organisation_id=world.org_a)
    )
    result = corpus_imports.import_version(
        db,
        actor=operator,
        dataset=dataset,
        parts=[Part("walk.zip", content=content)],
        options=ImportOptions(),
    )
    assert result.version is not None, result.report
    assert result.version.contamination["flagged_rows"] == 1
    db.commit()
    return dataset.id


@dataclass
class SupplyWalk:
    """org_a's supply objects: offers, a programme, an application with its PDF, a relation."""

    pool: int
    corpus_offer: int
    model_service: int
    programme: int
    application: int
    relation: int
    data_dir: Path


def walk_supply(app: FastAPI, db: Session, world: World, walk: Walk) -> SupplyWalk:
    operator = walk.operator
    supplier = Actor(
        user_id=world.user_ids["supplier_a"], role=Role.supplier, organisation_id=world.org_a
    )
    pool = supply_offers.create_pool(
        db,
        actor=supplier,
        data=PoolIn(
            name="甲算力池",
            accelerator="H800",
            card_count=8,
            price=Decimal("9.90"),
            available_from=dt.date(2025, 1, 1),
        ),
    )
    corpus_offer = supply_offers.create_corpus_offer(
        db, actor=supplier, data=CorpusOfferIn(dataset_id=walk.dataset_a, price=Decimal("5000"))
    )
    model_service = supply_offers.create_model_service(
        db,
        actor=supplier,
        data=ModelServiceIn(
            model_id=walk.model_a, mode="api", price=Decimal("12"), price_unit="million_tokens"
        ),
    )
    programme = supply_programmes.create_programme(
        db,
        actor=operator,
        data=ProgrammeIn(
            name="步行模型券",
            kind="model",
            budget=Decimal("100000000"),
            starts_on=dt.date(2025, 1, 1),
            ends_on=dt.date(2025, 12, 31),
            rules=Rules(share=Decimal("0.5"), cap_per_contract=Decimal("5000000")),
        ),
    )
    relation = supply_programmes.add_relation(
        db,
        actor=operator,
        data=RelationIn(
            organisation_id=world.org_a, related_organisation_id=world.org_demand, kind="group"
        ),
    )
    db.commit()
    found = SupplyWalk(
        pool=pool.id,
        corpus_offer=corpus_offer.id,
        model_service=model_service.id,
        programme=programme.id,
        application=0,
        relation=relation.id,
        data_dir=app.state.settings.data_dir,
    )
    found.application = fresh_application(db, world, found, SECRET_CONTRACT, "submitted")
    supply_attachments.attach(
        db,
        actor=operator,
        application_id=found.application,
        filename="合同.pdf",
        content=b"%PDF-1.4\n%%EOF\n",
        data_dir=found.data_dir,
        max_bytes=1024 * 1024,
    )
    db.commit()
    return found


def fresh_application(
    db: Session, world: World, supply: SupplyWalk, number: str, state: str
) -> int:
    """A new application of org_a (buying from org_b), taken to ``state``."""
    operator = Actor(user_id=world.user_ids["operator"], role=Role.operator, username="operator")
    application = supply_applications.create_application(
        db,
        actor=operator,
        data=ApplicationIn(
            programme_id=supply.programme,
            organisation_id=world.org_a,
            seller_organisation_id=world.org_b,
            contract_number=number,
            contract_amount=Decimal("10000"),
            signed_on=dt.date(2025, 3, 1),
            service_starts_on=dt.date(2025, 3, 1),
            service_ends_on=dt.date(2025, 6, 30),
            description="甲的合同说明",
        ),
    )
    if state in ("approved", "claimed"):
        supply_decisions.review(
            db, actor=operator, application_id=application.id, data=ReviewIn(decision="approve")
        )
    if state == "claimed":
        supply_decisions.claim(
            db,
            actor=operator,
            application_id=application.id,
            data=ClaimIn(delivered_on=dt.date(2025, 7, 1)),
        )
    db.commit()
    return application.id


def walk_arena(db: Session, world: World) -> tuple[int, int]:
    """An arena with two competitors' pre-written answers, and a battle served to the expert."""
    operator = Actor(user_id=world.user_ids["operator"], role=Role.operator)
    arena = arena_service.create_arena(
        db, actor=operator, data=ArenaIn(name="步行竞技场", prompts=["问题一", "问题二"])
    )
    for name in ("步行甲模型", "步行乙模型"):
        answers = {p.key: f"{name}对{p.text}的回答" for p in arena.prompts}
        arena_service.add_competitor(
            db, actor=operator, arena=arena, data=CompetitorIn(name=name, answers=answers)
        )
    expert = Actor(user_id=world.user_ids["expert"], role=Role.expert)
    battle = arena_service.serve_battle(db, actor=expert, arena=arena)
    db.commit()
    return arena.id, battle.id


def never_shown(walk: Walk) -> set[str]:
    """What no route may show anyone: keys, their ciphertext, password and token hashes, tokens."""
    db = walk.db
    db.expire_all()
    secrets = {SECRET_API_KEY, "$argon2"}
    for sealed in db.scalars(select(ModelEndpoint.api_key_encrypted)):
        if sealed:
            secrets.add(sealed.decode("ascii"))
    secrets.update(db.scalars(select(ApiToken.token_hash)))
    secrets.update(hashlib.sha256(t.encode()).hexdigest() for t in walk.world.tokens.values())
    secrets.update(walk.world.tokens.values())  # issued before the walk: never shown again
    return secrets


# ---------------------------------------------------------------- requests


def _supply(walk: Walk) -> SupplyWalk:
    assert walk.supply is not None
    return walk.supply


API_BODIES: dict[tuple[str, str], Callable[[Walk], Any]] = {
    ("POST", f"{V1}/challenges/{{challenge_id}}/race/stages"): lambda w: {
        "name": f"步行阶段{w.next()}",
        "task": {"prompt": {"template": "{{ 标题 }}"}, "parser": "label", "scorers": ["accuracy"]},
        "dataset_version_id": w.race_version,
        "mode": "endpoint",
        **future_window(),
        "cut_rule": "top_k",
        "cut_value": 1,
    },
    ("POST", f"{V1}/challenges/{{challenge_id}}/race/baselines"): lambda w: {
        "name": f"步行基线{w.next()}",
        "baseline": "baseline:majority",
    },
    ("POST", f"{V1}/challenges/{{challenge_id}}/race/decide"): lambda w: {"entry_ids": [w.entry_a]},
    ("POST", f"{V1}/stages/{{stage_id}}/close"): lambda w: {"reason": "步行者提前结束"},
    ("POST", f"{V1}/challenges/{{challenge_id}}/shortlist-proposal"): lambda w: {
        "application_ids": w.review_proposal
    },
    ("POST", f"{V1}/challenges/{{challenge_id}}/combined-decision"): lambda w: {
        "entry_ids": [w.entry_a],
        "reason": "步行者不按规则的理由说明",
    },
    ("PUT", f"{V1}/stages/{{stage_id}}/selection"): lambda w: {
        "entry_id": w.entry_a,
        "submission_ids": [],
    },
    ("POST", f"{V1}/scenarios"): lambda w: {
        "organisation_id": w.world.org_demand,
        "title": f"步行者的应用场景{w.next()}",
    },
    ("PATCH", f"{V1}/scenarios/{{scenario_id}}"): lambda w: {"description": "改过的场景描述"},
    ("POST", f"{V1}/orgs/{{organisation_id}}/case-studies"): lambda w: {"title": "步行者案例"},
    ("PATCH", f"{V1}/case-studies/{{case_study_id}}"): lambda w: {"text": "改过的案例"},
    ("PUT", f"{V1}/orgs/{{organisation_id}}/interests/{{scenario_id}}"): lambda w: {"note": "意向"},
    ("POST", f"{V1}/challenges"): lambda w: {
        "scenario_id": w.scenario_a,
        "kind": "enterprise",
        "title": f"步行者榜单{w.next()}",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "issuer": "丙区政务服务中心",
    },
    ("PATCH", f"{V1}/challenges/{{challenge_id}}"): lambda w: {"bounty_yuan": None},
    ("POST", f"{V1}/challenges/{{challenge_id}}/transitions"): lambda w: {
        "name": "close_applications"
    },
    ("POST", f"{V1}/challenges/{{challenge_id}}/applications"): lambda w: {
        "organisation_id": w.world.org_a,
        "proposal": "步行者的方案",
        "model_ids": [w.model_a],
    },
    ("POST", f"{V1}/applications/{{application_id}}/decision"): lambda w: {"decision": "approve"},
    ("POST", f"{V1}/supply/pools"): lambda w: {
        "organisation_id": w.world.org_a,
        "name": f"步行算力池{w.next()}",
        "accelerator": "A800",
        "card_count": 4,
        "price": "8.80",
        "available_from": "2025-01-01",
    },
    ("PATCH", f"{V1}/supply/pools/{{pool_id}}"): lambda w: {"description": "改过的算力池"},
    ("POST", f"{V1}/supply/pools/{{pool_id}}/usage"): lambda w: {
        "card_hours": "1.5",
        "reference_kind": "race_stage",
        "reference_id": str(w.next()),
    },
    ("POST", f"{V1}/supply/corpus-offers"): lambda w: {
        "organisation_id": w.world.org_a,
        "dataset_id": w.dataset_a,
        "price": "100",
    },
    ("PATCH", f"{V1}/supply/corpus-offers/{{offer_id}}"): lambda w: {"description": "改过"},
    ("POST", f"{V1}/supply/model-services"): lambda w: {
        "organisation_id": w.world.org_a,
        "model_id": w.model_a,
        "mode": "private",
        "price": "300000",
        "price_unit": "year",
    },
    ("PATCH", f"{V1}/supply/model-services/{{service_id}}"): lambda w: {"description": "改过"},
    ("POST", f"{V1}/supply/programmes"): lambda w: {
        "name": f"步行算力券{w.next()}",
        "kind": "compute",
        "budget": "1000000",
        "starts_on": "2025-01-01",
        "ends_on": "2025-12-31",
        "rules": {"share": "0.3"},
    },
    ("PATCH", f"{V1}/supply/programmes/{{programme_id}}"): lambda w: {"description": "改过"},
    ("PUT", f"{V1}/supply/profiles/{{organisation_id}}"): lambda w: {"employees": 30},
    ("POST", f"{V1}/supply/relations"): lambda w: {
        "organisation_id": w.world.org_b,
        "related_organisation_id": w.world.org_demand,
        "kind": "control",
    },
    ("POST", f"{V1}/supply/applications"): lambda w: {
        "programme_id": _supply(w).programme,
        "organisation_id": w.world.org_a,
        "seller_organisation_id": w.world.org_b,
        "contract_number": f"WALK-{w.next()}",
        "contract_amount": "2000",
        "signed_on": "2025-05-01",
        "service_starts_on": "2025-05-01",
        "service_ends_on": "2025-05-31",
    },
    ("POST", f"{V1}/supply/applications/{{application_id}}/review"): lambda w: {
        "decision": "reject",
        "reason": "步行者驳回",
    },
    ("POST", f"{V1}/supply/applications/{{application_id}}/claim"): lambda w: {
        "delivered_on": "2025-07-01"
    },
    ("POST", f"{V1}/supply/applications/{{application_id}}/payout"): lambda w: {
        "paid_on": "2025-08-01"
    },
    ("POST", f"{V1}/arenas"): lambda w: {"name": f"步行竞技场{w.next()}", "prompts": ["问"]},
    ("POST", f"{V1}/arenas/{{arena_id}}/competitors"): lambda w: {
        "name": f"步行参赛{w.next()}",
        "answers": {"p1": "答"},
    },
    ("POST", f"{V1}/arenas/{{arena_id}}/battles/{{battle_id}}/vote"): lambda w: {"winner": "tie"},
    ("POST", f"{V1}/arenas/{{arena_id}}/judge"): lambda w: {
        "name": f"步行裁判{w.next()}",
        "spec": "openai:http://127.0.0.1:9/v1#judge?retries=0&timeout=5",
    },
    ("POST", f"{V1}/arenas/{{arena_id}}/votes"): lambda w: [
        {"model_a": "步行甲模型", "model_b": "步行乙模型", "winner": "tie"}
    ],
    ("POST", f"{V1}/corpus/datasets"): lambda w: {"name": f"步行语料{w.next()}"},
    ("POST", f"{V1}/stages/{{stage_id}}/grading-rounds"): lambda w: {
        "mode": "rubric",
        "sample_size": 2,
        "experts": [w.world.user_ids["expert"]],
    },
    ("PUT", f"{V1}/grading-items/{{item_id}}/grade"): lambda w: {
        "scores": {"overall": 6},
        "comment": "步行者评分",
    },
    ("PATCH", f"{V1}/corpus/datasets/{{dataset_id}}"): lambda w: {"description": "改过的语料简介"},
    ("POST", f"{V1}/tokens"): lambda w: {"name": f"walker-{w.next()}"},
    ("POST", f"{V1}/me/password"): lambda w: {
        "current_password": "not-the-password",
        "new_password": "walker-new-password",
    },
    ("POST", f"{V1}/users/{{user_id}}/password"): lambda w: {"password": "walker-reset-password"},
    ("POST", f"{V1}/users"): lambda w: {
        "username": f"walker{w.next()}",
        "password": "walker-password",
        "role": "expert",
    },
    ("PUT", f"{V1}/overview/regional-total"): lambda w: {"region": "上海", "total": 120},
    ("POST", f"{V1}/experts"): lambda w: {
        "username": f"walked-expert{w.next()}",
        "fields": ["政务"],
    },
    ("PUT", f"{V1}/experts/{{user_id}}"): lambda w: {"fields": ["政务"], "title": "研究员"},
    ("POST", f"{V1}/experts/{{user_id}}/conflicts"): lambda w: {
        "organisation_id": w.world.org_b,
        "reason": "步行者声明",
    },
    ("PUT", f"{V1}/challenges/{{challenge_id}}/rubric"): lambda w: {
        "criteria": [{"key": "technical", "name": "技术方案", "weight": 100}]
    },
    ("POST", f"{V1}/orgs"): lambda w: {
        "name_zh": f"步行者科技{w.next()}",
        "credit_code": "91350100M000100Y43",
        "layers": ["service"],
    },
    ("PATCH", f"{V1}/orgs/{{organisation_id}}"): lambda w: {"description": "改过的简介"},
    ("POST", f"{V1}/models"): lambda w: {
        "organisation_id": w.world.org_a,
        "name": f"步行模型{w.next()}",
        "modality": "text",
    },
    ("PATCH", f"{V1}/models/{{model_id}}"): lambda w: {"description": "改过的模型简介"},
    ("POST", f"{V1}/filings"): lambda w: {
        "model_id": w.model_a,
        "kind": "beian",
        "number": f"Shanghai-Walk{w.next()}-20240105",
    },
    ("PATCH", f"{V1}/filings/{{filing_id}}"): lambda w: {"based_on_model_id": None},
    ("POST", f"{V1}/endpoints"): lambda w: {
        "organisation_id": w.world.org_a,
        "name": f"步行接入点{w.next()}",
        "base_url": "https://walker.example.cn/v1",
        "model_name": "walker",
        "api_key": SECRET_API_KEY,
    },
}
API_BODIES.update(
    {
        ("POST", f"{V1}/challenges/{{challenge_id}}/panel"): lambda w: {
            "size": 3,
            "field": panel_walk.FIELD,
            "seed": w.next(),
        },
        ("POST", f"{V1}/panels/{{panel_id}}/recuse"): lambda w: {
            "reason": "步行者回避",
            "expert_id": w.world.user_ids["expert"],
        },
        ("POST", f"{V1}/panels/{{panel_id}}/deadline"): lambda w: {
            "deadline": "2099-01-01T09:00:00+08:00"
        },
        ("POST", f"{V1}/panels/{{panel_id}}/close"): lambda w: {},
        ("PUT", f"{V1}/panels/{{panel_id}}/applications/{{application_id}}/score"): lambda w: {
            "scores": panel_walk.full_scores(),
            "comment": "步行者的评审意见",
        },
    }
)

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def fill(
    walk: Walk, app: FastAPI, path: str, method: str, overrides: dict[str, int] | None = None
) -> str:
    """``path`` with each id pointing at org_a's object (a fresh one for writes), or at the
    object ``overrides`` names."""
    writes = method not in SAFE
    box = app.state.credential_box

    def value(name: str) -> str:
        if overrides and name in overrides:
            return str(overrides[name])
        fixed = {
            "organisation_id": walk.world.org_a,
            "model_id": walk.model_a,
            "filing_id": walk.filing_a,
            "endpoint_id": walk.endpoint_a,
            "token_id": walk.token_a,
            "user_id": walk.world.user_ids["supplier_a"],
            "code": "en",
            "kind": "orgs",
            "fmt": "csv",
            "dataset_id": walk.dataset_a,
            "version": 1,
            "split": "test",
            "index": 3,  # the walked data set's hidden test row (its image: HIDDEN_IMAGE)
            "field": "image",
            "scenario_id": walk.scenario_a,
            "challenge_id": walk.challenge_a,
            "application_id": walk.application_a,
            "arena_id": walk.arena_a,
            "battle_id": walk.battle_a,
            "case_study_id": walk.case_study_a,
            "notification_id": walk.notification_a,
            # an arena prompt's image (the walked arena's prompts have none), or the hidden
            # test image by a link
            "sha256": HIDDEN_IMAGE_SHA if "/corpus/images/" in path else "0" * 64,
        }
        data_dir = app.state.settings.data_dir
        # supply routes: org_a's offers, programme, application and relation
        supply = {
            "pool_id": _supply(walk).pool,
            "offer_id": _supply(walk).corpus_offer,
            "service_id": _supply(walk).model_service,
            "programme_id": _supply(walk).programme,
            "application_id": _supply(walk).application,
            "relation_id": _supply(walk).relation,
        }
        if "/supply" in path and name in supply:
            if writes and name == "application_id":
                state = (
                    "approved"
                    if path.endswith("/claim")
                    else "claimed"
                    if path.endswith("/payout")
                    else "submitted"
                )
                return str(
                    fresh_application(
                        walk.db, walk.world, _supply(walk), f"FRESH-{walk.next()}", state
                    )
                )
            return str(supply[name])
        fresh: dict[str, Callable[[], int]] = {
            "model_id": walk.fresh_model,
            "filing_id": walk.fresh_filing,
            "endpoint_id": lambda: walk.fresh_endpoint(box),
            "token_id": walk.fresh_token,
            "user_id": walk.fresh_user,
            # withdrawing interest needs interest to withdraw
            "scenario_id": lambda: (
                walk.fresh_interest()
                if method == "DELETE" or path.endswith("/withdraw")
                else factory.make_scenario(walk.db, walk.world).id
            ),
            "case_study_id": walk.fresh_case_study,
            # a draft to edit, else an open challenge (to apply to, or to move)
            "challenge_id": lambda: (
                factory.make_challenge(
                    walk.db,
                    walk.world,
                    publish=not (method == "PATCH" or path.endswith(("/edit", "/rubric"))),
                ).id
            ),
            # an approved application in a shortlisting challenge to shortlist, else a
            # submitted one in an open challenge (to decide on, or to withdraw)
            "application_id": lambda: (
                (
                    factory.approved_in_shortlisting(
                        walk.db, walk.world, model_id=walk.model_a, data_dir=data_dir
                    )
                    if path.endswith("/shortlist")
                    else factory.make_application(
                        walk.db,
                        walk.world,
                        factory.make_challenge(walk.db, walk.world),
                        model_id=walk.model_a,
                        data_dir=data_dir,
                    )
                ).id
            ),
            "battle_id": walk.fresh_battle,
        }
        # race routes walk the racing challenge; writes get a fresh race or submission
        fixed.update({"stage_id": walk.stage_a, "submission_id": walk.submission_a})
        # panel routes walk the blind panel; writes get a fresh challenge or panel
        if name == "challenge_id" and path.endswith("/panel"):
            return str(
                panel_walk.fresh_ready_challenge(
                    walk.db, walk.world, model_id=walk.model_a, data_dir=data_dir
                )
                if writes
                else _panel(walk).challenge
            )
        if name == "panel_id":
            if not writes:
                return str(_panel(walk).panel)
            return str(
                panel_walk.fresh_panel(
                    walk.db,
                    walk.world,
                    _panel(walk),
                    model_id=walk.model_a,
                    data_dir=data_dir,
                    confirmed=path.endswith("/score"),
                )
            )
        if name == "application_id" and "/panels/" in path:
            return str(_panel(walk).fresh_application if writes else _panel(walk).application)
        # review routes walk the reviewed challenge; confirming a shortlist takes a fresh one
        if name == "challenge_id" and REVIEW_PATH.search(path):
            fresh_one = writes and "shortlist" in path
            return str(fresh_review(walk) if fresh_one else walk.review_challenge)
        if name == "challenge_id" and "/race" in path:
            return str(fresh_race(walk)[0] if writes else walk.race_challenge)
        if name == "stage_id" and writes and path.endswith("/close"):
            return str(fresh_race(walk)[1])
        if name == "submission_id" and writes:
            return str(fresh_submission(app, walk))
        if name == "user_id" and "/experts/" in path:  # the walked expert's own profile
            return str(walk.world.user_ids["expert"])
        if "/grading" in path and name in ("stage_id", "round_id", "item_id"):
            closing = writes and path.endswith("/close")
            return str(
                walk.grading_stage
                if name == "stage_id"
                else (fresh_grading_round(app, walk) if closing else walk.grading_round)
                if name == "round_id"
                else walk.grading_item
            )
        if name not in fixed:
            raise AssertionError(f"the walker does not know how to fill {{{name}}} in {path}")
        return str(fresh[name]() if writes and name in fresh else fixed[name])

    return PARAM.sub(lambda m: value(m.group(1)), path)


def plan(app: FastAPI) -> list[tuple[str, RouteInfo]]:
    """(method, route) pairs: reads first, then writes; writes to org_a itself (which the
    walker cannot replace by a fresh object) come last, and deleting it very last."""
    pairs = [(m, r) for r in checked_routes(app) for m in sorted(r.methods - {"HEAD"})]

    def order(pair: tuple[str, RouteInfo]) -> tuple[bool, bool, bool, str]:
        method, route = pair
        on_org_a = "{organisation_id}" in route.path
        deletes = method == "DELETE" or route.path.endswith("/delete")
        return (method not in SAFE, on_org_a, on_org_a and deletes, route.path)

    return sorted(pairs, key=order)


@dataclass
class Answer:
    method: str
    path: str
    who: str
    status: int
    body: str
    location: str


ROLE_OF = {
    "operator": Role.operator,
    "supplier_a": Role.supplier,
    "supplier_b": Role.supplier,
    "demand": Role.demand,
    "expert": Role.expert,
}


def requirement_status(route: RouteInfo, who: str, api: bool) -> int | None:
    """The status the route's declared requirement forces on ``who``, if it refuses them."""
    assert route.dependant is not None
    for requirement in requirements_of(route.dependant):
        if not requirement.authenticated:
            continue
        if who == "public":
            return 401 if api else 303  # pages send the public to the login page
        if requirement.roles and ROLE_OF[who] not in requirement.roles:
            return 403
    return None


def login(live: LiveServer, walk: Walk, who: str) -> dict[str, str]:
    """The session cookie ``POST /login`` gives ``who``."""
    with browser(live) as client:
        answer = sign_in(client, who, walk.world.passwords[who])
        assert answer.status_code == 303, f"login as {who}: {answer.status_code}"
        assert SESSION_COOKIE in client.cookies, f"login as {who} set no cookie"
        return {SESSION_COOKIE: client.cookies[SESSION_COOKIE]}


def web_cookies(live: LiveServer, app: FastAPI, walk: Walk) -> dict[str, dict[str, str]]:
    """A session cookie per identity (none when there is no login page: bearer tokens then)."""
    has_login = any(r.path == "/login" and "POST" in r.methods for r in checked_routes(app))
    cookies: dict[str, dict[str, str]] = {"public": {}}
    for who in SIGNED_IN:
        cookies[who] = login(live, walk, who) if has_login else {}
    return cookies


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    api: bool,
    body: Any,
) -> httpx.Response:
    if method in SAFE or method == "DELETE":
        return client.request(method, url)
    if api:
        return client.request(method, url, json=body if body is not None else {})
    return client.request(method, url, data={})


def walk_all(
    live: LiveServer,
    app: FastAPI,
    walk: Walk,
    pairs: list[tuple[str, RouteInfo]] | None = None,
    overrides: dict[str, int] | None = None,
) -> list[Answer]:
    """Every (method, route) of ``pairs`` (all of them by default) as every identity."""
    cookies = web_cookies(live, app, walk)
    answers: list[Answer] = []
    with httpx.Client(base_url=live.url, timeout=30, follow_redirects=False) as client:
        for method, route in plan(app) if pairs is None else pairs:
            api = route.path.startswith(API_PREFIX)
            for who in IDENTITIES:
                url = fill(walk, app, route.path, method, overrides)
                maker = API_BODIES.get((method, route.path))
                body = maker(walk) if maker else None
                headers: dict[str, str] = {}
                client.cookies.clear()
                use_cookie = not api and cookies[who]
                if use_cookie:
                    client.cookies.update(cookies[who])
                elif who != "public":
                    headers["Authorization"] = f"Bearer {walk.world.tokens[who]}"
                if not api:
                    headers["Origin"] = live.url  # pages are posted from the site itself
                client.headers.clear()
                client.headers.update(headers)
                response = send(client, method, url, api=api, body=body)
                answers.append(
                    Answer(
                        method,
                        route.path,
                        who,
                        response.status_code,
                        response.text,
                        response.headers.get("location", ""),
                    )
                )
                if route.path == "/logout" and use_cookie:  # that session is over: sign in again
                    cookies[who] = login(live, walk, who)
                if route.path.endswith("/logout-everywhere") and who != "public":
                    # every session and token of ``who`` is over: a new token, a new session
                    walk.world.tokens[who] = create_api_token(
                        walk.db, user_id=walk.world.user_ids[who], name="walker"
                    )[1]
                    walk.db.commit()
                    cookies[who] = login(live, walk, who)
    return answers


@pytest.mark.slow
@on_primary_database
def test_walk_every_route_as_every_identity(
    app: FastAPI, live: LiveServer, world: World, db: Session
) -> None:
    walk = build_walk(app, db, world)
    answers = walk_all(live, app, walk)
    routes = {(m, r.path): r for r in checked_routes(app) for m in r.methods}
    secrets = never_shown(walk)
    problems: list[str] = []
    for a in answers:
        where = f"{a.method} {a.path} as {a.who} -> {a.status}"
        if a.status >= 500:
            problems.append(f"{where}: server error {a.body[:200]}")
            continue
        api = a.path.startswith(API_PREFIX)
        forced = requirement_status(routes[a.method, a.path], a.who, api)
        if forced is not None and a.status != forced:
            problems.append(f"{where}: the route's requirement calls for {forced}")
        if forced == 303 and not a.location.startswith("/login"):
            problems.append(f"{where}: sent to {a.location!r}, not the login page")
        expect = EXPECTED.get((a.method, a.path))
        if expect is not None and a.status != expect(a.who):
            problems.append(f"{where}: expected {expect(a.who)}: {a.body[:200]}")
        if api and a.status >= 400:
            error = httpx.Response(a.status, content=a.body).json().get("error", {})
            if not (isinstance(error.get("code"), str) and error.get("message")):
                problems.append(f"{where}: error is not {{error: {{code, message}}}}: {a.body}")
        for secret in secrets | walk.private[a.who]:
            if secret in a.body or secret in a.location:
                problems.append(f"{where}: shows {secret!r}")
    assert problems == [], "\n".join(problems)
    walked = {(a.method, a.path) for a in answers}
    assert EXPECTED.keys() <= walked
    assert len(answers) == len(walked) * len(IDENTITIES)

    # the demand organisation's own data set: its demand member is refused like an outsider
    pairs = [(m, r) for m, r in plan(app) if (m, r.path) in ON_DEMAND_DATASET]
    assert {(m, r.path) for m, r in pairs} == ON_DEMAND_DATASET.keys()
    overrides = {"dataset_id": walk.dataset_demand}
    for a in walk_all(live, app, walk, pairs, overrides):
        if a.who == "public":
            continue  # the routes' requirements, checked above
        expected = ON_DEMAND_DATASET[a.method, a.path](a.who)
        if a.status != expected:
            problems.append(
                f"{a.method} {a.path} (org_demand's data set) as {a.who} -> "
                f"{a.status}: expected {expected}: {a.body[:200]}"
            )
    assert problems == [], "\n".join(problems)


def test_ids_in_urls_open_nothing_of_another_organisation(
    app: FastAPI, live: LiveServer, world: World, db: Session
) -> None:
    """supplier_b walks org_a's ids through every API route with an id: nothing opens or changes."""
    walk = build_walk(app, db, world)
    before = db.get(Model, walk.model_a)
    assert before is not None
    headers = {"Authorization": f"Bearer {world.tokens['supplier_b']}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=30) as client:
        for (method, path), _ in EXPECTED.items():
            if "{" not in path or method in SAFE or (method, path) in OPEN_TO_EVERY_VOTER:
                continue
            url = fill(walk, app, path, "GET")  # the fixed objects, not fresh ones
            body = API_BODIES.get((method, path), lambda w: {})(walk)
            answer = client.request(method, url, json=body if method != "DELETE" else None)
            assert answer.status_code in (403, 404), f"{method} {url}: {answer.status_code}"
    db.expire_all()
    assert db.get(Organisation, world.org_a) is not None
    model = db.get(Model, walk.model_a)
    assert model is not None and model.description == ""
    endpoint = db.get(ModelEndpoint, walk.endpoint_a)
    assert endpoint is not None
    token = db.get(ApiToken, walk.token_a)
    assert token is not None and token.revoked_at is None
