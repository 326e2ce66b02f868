"""The combined decision (综合评分): the panel's score and the race's final score, combined
by the rule the challenge published with its rubric, and the winners named by it.

综合评分 = review_weight × panel score′ + race_weight × race score′, where ′ is the rule's
normalisation (:class:`mosu.review.schemas.CombinedRule`). The race score is the final
stage's final (private) leaderboard score of the entry (its primary metric). Entries are
placed by the combined score; equal combined scores are split by the part the rule names
(``ties``), and entries equal on both share the place. Naming winners other than the
rule's order needs a reason; both the table and the choice go to the audit log.

While a challenge has a combined rule, the race's plain decide refuses with 409 and points
here (:func:`mosu.race.closing.decided_elsewhere`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy.orm import Session

from mosu.challenges import lifecycle
from mosu.challenges.catalogue import get_challenge
from mosu.challenges.models import Challenge, Entry, EntryState, StageState
from mosu.core.text import Text
from mosu.i18n import N_
from mosu.permissions import Actor, can_decide_by_panel, can_read_race_report, ensure
from mosu.race import closing
from mosu.race.board import stage_board
from mosu.race.entries import entries_of
from mosu.race.stages import FINISHED_CHALLENGE
from mosu.review.errors import (
    COMBINED_AFTER_DECISION,
    COMBINED_DEPARTURE_NEEDS_REASON,
    DECIDE_OPERATORS_ONLY,
    NO_COMBINED_RULE,
    PANEL_NOT_CLOSED,
    RACE_NOT_FINISHED,
)
from mosu.review.models import PanelState, Rubric
from mosu.review.results import rubric_and_panel, tally
from mosu.review.schemas import CombinedRule
from mosu.review.shortlist import MIN_REASON

DIGITS = 9


def has_combined_rule(session: Session, challenge_id: int) -> bool:
    """Whether the challenge publishes a combined rule (its winners are named by it)."""
    rubric = session.get(Rubric, challenge_id)
    return rubric is not None and bool(rubric.combined)


def _rule_owns_decision(session: Session, challenge: Challenge) -> Text | None:
    if not has_combined_rule(session, challenge.id):
        return None
    return Text(
        N_("该榜单按综合评分规则确定揭榜单位，请在评审决定页面（{page}）选择，或调用 {api}"),
        {
            "page": f"/challenges/{challenge.id}/decision",
            "api": f"POST /api/v1/challenges/{challenge.id}/combined-decision",
        },
    )


closing.decided_elsewhere(_rule_owns_decision)


class CombinedRow(BaseModel):
    """One entry's parts, as published: raw and normalised, the combined score, its place."""

    entry_id: int
    entry: str
    application_id: int
    state: str
    panel_score: float | None
    race_score: float | None
    review_part: float | None
    race_part: float | None
    combined: float | None
    place: int | None
    """Shared by entries equal on the combined score and on the tie-breaking part; None
    for an entry missing a part (unranked in the final stage, or not scored by the panel)."""


class CombinedTable(BaseModel):
    challenge_id: int
    rule: CombinedRule
    stage: str
    primary: str
    ready: bool
    """The race has stages and every one is closed: its final scores are in, and winners can
    be named (before, the table shows the panel's parts only)."""
    decided: bool
    winner_places: int
    rows: list[CombinedRow]
    """In the rule's order (placed entries first)."""
    rule_winners: list[int]
    """The entries the rule names, in order (the first ``winner_places`` placed)."""
    can_decide: bool
    min_reason: int = MIN_REASON


def _normalised(values: dict[int, float], how: str, *, race: bool) -> dict[int, float]:
    if not values:
        return {}
    if how == "scale":
        return {k: v * 100 if race else v for k, v in values.items()}
    best, low = max(values.values()), min(values.values())
    if how == "best":
        return {k: (v / best * 100 if best > 0 else 0.0) for k, v in values.items()}
    span = best - low
    return {k: ((v - low) / span * 100 if span > 0 else 100.0) for k, v in values.items()}


@dataclass(frozen=True)
class Parts:
    """One entry's normalised parts, its combined score and its place."""

    review: float
    race: float
    combined: float
    place: int


def combine(
    review: Mapping[int, float], race: Mapping[int, float], rule: CombinedRule
) -> dict[int, Parts]:
    """The combined score and place of every entry with both parts (entry id → raw panel
    score, and → raw race score): normalised as the rule says, weighted, placed by the
    combined score, then by the tie part; entries equal on both share the place."""
    both = sorted(review.keys() & race.keys())
    review_n = _normalised({k: review[k] for k in both}, rule.normalise, race=False)
    race_n = _normalised({k: race[k] for k in both}, rule.normalise, race=True)
    combined = {k: rule.review_weight * review_n[k] + rule.race_weight * race_n[k] for k in both}
    tie = review_n if rule.ties == "review" else race_n
    # compared to DIGITS decimals, so that float noise (0.4 × 65.00000000000001) splits no tie
    key = {k: (-round(combined[k], DIGITS), -round(tie[k], DIGITS)) for k in both}
    ordered = sorted(both, key=lambda k: (key[k], k))
    out: dict[int, Parts] = {}
    for i, k in enumerate(ordered):
        prev = ordered[i - 1] if i else None
        place = out[prev].place if prev is not None and key[prev] == key[k] else i + 1
        out[k] = Parts(review_n[k], race_n[k], combined[k], place)
    return out


def _table(session: Session, challenge: Challenge) -> CombinedTable:
    rubric, panel = rubric_and_panel(session, challenge.id)
    if not rubric.combined:
        raise NO_COMBINED_RULE()
    if panel.state is not PanelState.closed:
        raise PANEL_NOT_CLOSED()
    rule = CombinedRule.model_validate(rubric.combined)
    final = challenge.stages[-1] if challenge.stages else None
    board = stage_board(final, "private") if final is not None else None
    race_scores = {r.entry_id: r.score for r in board.rows} if board else {}
    panel_scores = {r.application.id: r.aggregate.score for r in tally(session, panel, rubric).rows}
    entries = [
        e
        for e in entries_of(session, challenge.id)
        if e.application_id is not None
        and e.state in (EntryState.active, EntryState.winner, EntryState.not_selected)
    ]
    review_raw = {
        e.id: panel_scores[e.application_id] for e in entries if e.application_id in panel_scores
    }
    race_raw = {e.id: race_scores[e.id] for e in entries if e.id in race_scores}
    parts = combine(review_raw, race_raw, rule)
    placed = [k for k, _ in sorted(parts.items(), key=lambda kv: (kv[1].place, kv[0]))]
    by_id = {e.id: e for e in entries}
    order = placed + [e.id for e in entries if e.id not in parts]
    rows = [
        CombinedRow(
            entry_id=k,
            entry=by_id[k].name,
            application_id=by_id[k].application_id or 0,
            state=by_id[k].state.value,
            panel_score=review_raw.get(k),
            race_score=race_raw.get(k),
            review_part=parts[k].review if k in parts else None,
            race_part=parts[k].race if k in parts else None,
            combined=parts[k].combined if k in parts else None,
            place=parts[k].place if k in parts else None,
        )
        for k in order
    ]
    return CombinedTable(
        challenge_id=challenge.id,
        rule=rule,
        stage=final.name if final is not None else "",
        primary=board.primary if board else "",
        ready=bool(challenge.stages)
        and all(s.state is StageState.closed for s in challenge.stages),
        decided=challenge.state in FINISHED_CHALLENGE,
        winner_places=challenge.winner_places,
        rows=rows,
        rule_winners=placed[: challenge.winner_places],
        can_decide=False,
    )


def combined_table(session: Session, *, actor: Actor, challenge_id: int) -> CombinedTable:
    """The combined table as ``actor`` may see it: operators and the issuer at any time,
    everyone who can see the challenge once it is decided (every part is public by then)."""
    challenge = get_challenge(session, challenge_id, actor=actor)
    if not (
        can_read_race_report(actor, challenge.organisation_id)
        or challenge.state in FINISHED_CHALLENGE
    ):
        raise COMBINED_AFTER_DECISION()
    table = _table(session, challenge)
    table.can_decide = can_decide_by_panel(actor) and table.ready and not table.decided
    return table


def _follows_rule(table: CombinedTable, chosen: list[int]) -> bool:
    """Whether ``chosen`` are the rule's winners, up to entries sharing a place."""
    places = {r.entry_id: r.place for r in table.rows}
    if any(places.get(k) is None for k in chosen):
        return False
    return sorted(places[k] or 0 for k in chosen) == sorted(
        places[k] or 0 for k in table.rule_winners
    )


def decide_combined(
    session: Session,
    *,
    actor: Actor,
    challenge_id: int,
    entry_ids: list[int],
    reason: str = "",
) -> list[Entry]:
    """Name the winners by the combined rule (operators, after every stage closed): any
    choice other than the rule's order needs a reason of :data:`MIN_REASON` characters or
    more. The table, the rule's order and the choice are written to the audit log; then the
    race's own decide names them."""
    challenge = get_challenge(session, challenge_id, actor=actor)
    ensure(can_decide_by_panel(actor), DECIDE_OPERATORS_ONLY)
    table = _table(session, challenge)
    if not table.ready:
        raise RACE_NOT_FINISHED()
    chosen = list(dict.fromkeys(entry_ids))
    departs = not _follows_rule(table, chosen)
    if departs and len(reason.strip()) < MIN_REASON:
        raise COMBINED_DEPARTURE_NEEDS_REASON(
            n=MIN_REASON, details={"field": "reason", "rule_winners": table.rule_winners}
        )
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="combined_departed" if departs else "combined_decided",
        reason=reason if departs else "",
        details={
            "rule": table.rule.model_dump(),
            "rule_winners": table.rule_winners,
            "chosen": chosen,
            "table": [
                {
                    "entry_id": r.entry_id,
                    "entry": r.entry,
                    "panel_score": r.panel_score,
                    "race_score": r.race_score,
                    "combined": r.combined,
                    "place": r.place,
                }
                for r in table.rows
            ],
        },
    )
    return closing.decide(
        session,
        actor=actor,
        challenge_id=challenge.id,
        entry_ids=chosen,
        reason=reason,
        guarded=False,
    )
