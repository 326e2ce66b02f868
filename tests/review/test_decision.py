"""The panel's shortlist (confirmed or departed from with a reason) and the combined
decision (its order, ties, departures and audit), on the service level."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu import race as races
from mosu.challenges import decisions
from mosu.challenges.models import ApplicationState, ChallengeEvent, ChallengeState, EntryState
from mosu.core.errors import Conflict, Forbidden, Invalid
from mosu.core.settings import Settings
from mosu.permissions import Actor, Role
from mosu.review.decision import combine, combined_table, decide_combined
from mosu.review.models import PanelState
from mosu.review.schemas import CombinedRule
from mosu.review.shortlist import confirm_shortlist, proposed_shortlist
from tests.conftest import World
from tests.helpers.races import OPERATOR
from tests.helpers.review import finished_race, reviewed_challenge

# the hand-worked table of test_aggregate (甲 72, 乙 59⅓, 丙 57⅓) and a weaker 丁
HAND = {
    "甲队": [(8, 5), (9, 7), (7, 6), (10, 10), (6, 5)],
    "乙队": [(6, 5), (7, 6), (7, 6), (6, 5), (5, 5)],
    "丙队": [(5, 5), (6, 6), (8, 5), (6, 5), (6, 5)],
    "丁队": [(4, 4), (5, 4), (4, 3), (5, 5), (3, 3)],
}


def events(db: Session, challenge_id: int) -> list[ChallengeEvent]:
    return list(
        db.scalars(
            select(ChallengeEvent)
            .where(ChallengeEvent.challenge_id == challenge_id)
            .order_by(ChallengeEvent.id)
        )
    )


def test_the_proposal_is_the_top_places_and_confirming_it_needs_no_reason(
    db: Session, world: World
) -> None:
    reviewed = reviewed_challenge(db, world, HAND, shortlist_places=2)
    apps = reviewed.applications
    cid = reviewed.challenge.id
    assert proposed_shortlist(db, cid) == [apps["甲队"].id, apps["乙队"].id]
    supplier = Actor(
        user_id=world.user_ids["supplier_a"], role=Role.supplier, organisation_id=world.org_a
    )
    with pytest.raises(Forbidden):
        confirm_shortlist(
            db, actor=supplier, challenge_id=cid, application_ids=[apps["甲队"].id, apps["乙队"].id]
        )
    # the per-application shortlist refuses while the challenge has a panel
    with pytest.raises(Conflict, match="请使用评审入围名单"):
        decisions.shortlist(db, actor=OPERATOR, application_id=apps["丙队"].id)
    entries = confirm_shortlist(
        db, actor=OPERATOR, challenge_id=cid, application_ids=[apps["乙队"].id, apps["甲队"].id]
    )
    assert len(entries) == 2
    assert apps["甲队"].state is ApplicationState.shortlisted
    assert apps["乙队"].state is ApplicationState.shortlisted
    assert apps["丙队"].state is ApplicationState.approved
    log = events(db, cid)
    confirmed = next(e for e in log if e.action == "shortlist_confirmed")
    assert confirmed.details == {
        "proposed": [apps["甲队"].id, apps["乙队"].id],
        "chosen": [apps["乙队"].id, apps["甲队"].id],
    }
    assert [e.action for e in log].count("application_shortlisted") == 2
    with pytest.raises(Conflict) as again:
        confirm_shortlist(db, actor=OPERATOR, challenge_id=cid, application_ids=[apps["丙队"].id])
    assert again.value.code == "review.shortlist_confirmed"


def test_departing_from_the_proposal_needs_a_reason_and_is_logged(
    db: Session, world: World
) -> None:
    reviewed = reviewed_challenge(db, world, HAND, shortlist_places=2)
    apps = reviewed.applications
    cid = reviewed.challenge.id
    chosen = [apps["甲队"].id, apps["丙队"].id]
    with pytest.raises(Invalid) as unexplained:
        confirm_shortlist(db, actor=OPERATOR, challenge_id=cid, application_ids=chosen)
    assert unexplained.value.code == "review.shortlist_departure_needs_reason"
    with pytest.raises(Invalid) as short:
        confirm_shortlist(
            db, actor=OPERATOR, challenge_id=cid, application_ids=chosen, reason="乙队不合规"
        )  # shorter than ten characters
    assert short.value.code == "review.shortlist_departure_needs_reason"
    assert short.value.message == "与评审建议不同的入围名单须说明理由（至少 10 个字）"
    three = [apps["甲队"].id, apps["乙队"].id, apps["丙队"].id]
    with pytest.raises(Invalid) as too_many:
        confirm_shortlist(
            db,
            actor=OPERATOR,
            challenge_id=cid,
            application_ids=three,
            reason="三家都很优秀，全部入围",
        )
    assert too_many.value.code == "review.too_many_shortlisted"
    assert too_many.value.message == "入围名额为 2 个"
    assert apps["甲队"].state is ApplicationState.approved  # nothing was written
    reason = "乙队联合体成员资质证明过期，按细则第三条不予入围"
    confirm_shortlist(db, actor=OPERATOR, challenge_id=cid, application_ids=chosen, reason=reason)
    departed = next(e for e in events(db, cid) if e.action == "shortlist_departed")
    assert departed.reason == reason
    assert departed.details == {"proposed": [apps["甲队"].id, apps["乙队"].id], "chosen": chosen}
    assert apps["丙队"].state is ApplicationState.shortlisted
    assert apps["乙队"].state is ApplicationState.approved


def test_an_open_panel_proposes_nothing(db: Session, world: World) -> None:
    reviewed = reviewed_challenge(db, world, HAND, closed=False)
    with pytest.raises(Conflict) as refused:
        proposed_shortlist(db, reviewed.challenge.id)
    assert refused.value.code == "review.panel_not_closed"
    assert reviewed.panel.state is PanelState.open


def test_combine_normalises_weights_and_breaks_ties_by_the_named_part() -> None:
    # scale: 0.6 × 80 + 0.4 × 50 = 68 and 0.6 × 70 + 0.4 × 65 = 68: a tie on the combined score
    review, race = {1: 80.0, 2: 70.0, 3: 50.0}, {1: 0.50, 2: 0.65, 3: 0.40}
    by_review = combine(review, race, CombinedRule(review_weight=0.6, race_weight=0.4))
    assert by_review[1].combined == pytest.approx(68) and by_review[2].combined == pytest.approx(68)
    assert (by_review[1].place, by_review[2].place, by_review[3].place) == (1, 2, 3)
    by_race = combine(review, race, CombinedRule(review_weight=0.6, race_weight=0.4, ties="race"))
    assert (by_race[2].place, by_race[1].place) == (1, 2)
    # equal on both parts: the entries share the place
    shared = combine(
        {1: 70.0, 2: 70.0, 3: 60.0},
        {1: 0.9, 2: 0.9, 3: 0.9},
        CombinedRule(review_weight=0.5, race_weight=0.5),
    )
    assert [shared[k].place for k in (1, 2, 3)] == [1, 1, 3]
    # best: each part over the best entry's; minmax: lowest 0, best 100
    best = combine(review, race, CombinedRule(review_weight=0.5, race_weight=0.5, normalise="best"))
    assert best[1].review == pytest.approx(100) and best[3].race == pytest.approx(0.40 / 0.65 * 100)
    minmax = combine(
        review, race, CombinedRule(review_weight=0.5, race_weight=0.5, normalise="minmax")
    )
    assert minmax[3].review == 0 and minmax[1].review == 100
    assert minmax[2].race == 100 and minmax[1].race == pytest.approx(40)
    assert minmax[2].combined == pytest.approx(0.5 * 200 / 3 + 50)
    # an entry missing a part is not placed
    assert 4 not in combine({**review, 4: 90.0}, race, CombinedRule(review_weight=1, race_weight=0))


RULE = {"review_weight": 0.5, "race_weight": 0.5, "normalise": "scale", "ties": "review"}
EVEN = {
    "甲队": [(8, 8), (8, 8), (8, 8)],
    "乙队": [(7, 7), (7, 7), (7, 7)],
    "丙队": [(7, 7), (7, 7), (7, 7)],
}


def test_the_combined_decision_follows_the_rule_or_gives_a_reason(
    db: Session, world: World, settings: Settings
) -> None:
    reviewed = reviewed_challenge(db, world, EVEN, shortlist_places=3, combined=RULE)
    cid = reviewed.challenge.id
    apps = reviewed.applications
    confirm_shortlist(
        db, actor=OPERATOR, challenge_id=cid, application_ids=[a.id for a in apps.values()]
    )
    entries = finished_race(
        db, reviewed, settings.data_dir, wrong={"甲队": 150, "乙队": 0, "丙队": 0}
    )
    final = reviewed.challenge.stages[-1].leaderboard_final
    assert final is not None
    board = {r["entry_id"]: r["score"] for r in final["rows"]}

    table = combined_table(db, actor=OPERATOR, challenge_id=cid)
    assert table.ready and table.can_decide and not table.decided
    by_entry = {r.entry_id: r for r in table.rows}
    rows = {team: by_entry[entry.id] for team, entry in entries.items()}
    assert rows["甲队"].panel_score == pytest.approx(80)
    assert rows["乙队"].panel_score == pytest.approx(70)
    for team, row in rows.items():
        assert row.race_score == pytest.approx(board[entries[team].id])
        assert row.combined == pytest.approx(0.5 * row.panel_score + 0.5 * 100 * row.race_score)
    # 乙 and 丙 are equal on both parts: they share first place, 甲 (weak in the race) third
    assert board[entries["乙队"].id] > board[entries["甲队"].id] + 0.1
    assert (rows["乙队"].place, rows["丙队"].place, rows["甲队"].place) == (1, 1, 3)
    assert table.rule_winners == [entries["乙队"].id]

    demand = Actor(
        user_id=world.user_ids["demand"], role=Role.demand, organisation_id=world.org_demand
    )
    assert combined_table(db, actor=demand, challenge_id=cid).can_decide is False
    supplier = Actor(
        user_id=world.user_ids["supplier_b"], role=Role.supplier, organisation_id=world.org_b
    )
    with pytest.raises(Forbidden):  # not public before the decision
        combined_table(db, actor=supplier, challenge_id=cid)
    with pytest.raises(Forbidden):
        decide_combined(db, actor=demand, challenge_id=cid, entry_ids=[entries["乙队"].id])
    # the race's plain decide points to the decision page
    with pytest.raises(Conflict, match=f"/challenges/{cid}/decision"):
        races.decide(db, actor=OPERATOR, challenge_id=cid, entry_ids=[entries["乙队"].id])
    # 甲 is not the rule's choice: a reason is needed
    with pytest.raises(Invalid) as unexplained:
        decide_combined(db, actor=OPERATOR, challenge_id=cid, entry_ids=[entries["甲队"].id])
    assert unexplained.value.code == "review.combined_departure_needs_reason"
    # 丙 shares the first place with 乙: the rule allows either, no reason needed
    decide_combined(db, actor=OPERATOR, challenge_id=cid, entry_ids=[entries["丙队"].id])
    assert reviewed.challenge.state is ChallengeState.decided
    assert entries["丙队"].state is EntryState.winner
    log = events(db, cid)
    assert [e.action for e in log][-2:] == ["combined_decided", "decide"]
    decided = log[-2]
    assert decided.details["rule_winners"] == [entries["乙队"].id]
    assert decided.details["chosen"] == [entries["丙队"].id]
    assert {r["entry"] for r in decided.details["table"]} == {e.name for e in entries.values()}
    # once decided, everyone who can see the challenge reads the table
    shown = combined_table(db, actor=supplier, challenge_id=cid)
    assert shown.decided and not shown.can_decide


def test_a_departing_combined_decision_is_logged_with_its_reason(
    db: Session, world: World, settings: Settings
) -> None:
    reviewed = reviewed_challenge(db, world, EVEN, shortlist_places=3, combined=RULE)
    cid = reviewed.challenge.id
    confirm_shortlist(
        db,
        actor=OPERATOR,
        challenge_id=cid,
        application_ids=[a.id for a in reviewed.applications.values()],
    )
    entries = finished_race(
        db, reviewed, settings.data_dir, wrong={"甲队": 150, "乙队": 0, "丙队": 0}
    )
    reason = "甲队方案落地条件最好，发榜单位书面意见已存档"
    decide_combined(
        db, actor=OPERATOR, challenge_id=cid, entry_ids=[entries["甲队"].id], reason=reason
    )
    departed = [e for e in events(db, cid) if e.action == "combined_departed"]
    assert len(departed) == 1 and departed[0].reason == reason
    assert departed[0].details["chosen"] == [entries["甲队"].id]
    assert entries["甲队"].state is EntryState.winner
