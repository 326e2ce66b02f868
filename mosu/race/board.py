"""Race leaderboards (排行榜): which submission of each entry counts, the public and final
boards, and what each reader may see of them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.challenges.models import Challenge, EntryState, Stage, Submission, SubmissionState
from mosu.core import clock
from mosu.evals.models.base import Price
from mosu.permissions import Actor, can_read_race_report, can_see_entry
from mosu.race.entries import entries_of, entry_teams
from mosu.race.perf import perf_board
from mosu.race.perf_spec import perf_stage
from mosu.race.rules import parse_rule
from mosu.race.scoring import (
    Board,
    BoardRow,
    Contender,
    Part,
    board,
    outcomes_of,
    stage_data,
)


def _succeeded(session: Session, stage: Stage) -> dict[int, list[Submission]]:
    by_entry: dict[int, list[Submission]] = {}
    for submission in session.scalars(
        select(Submission)
        .where(Submission.stage_id == stage.id, Submission.state == SubmissionState.succeeded)
        .order_by(Submission.created_at, Submission.id)
    ):
        by_entry.setdefault(submission.entry_id, []).append(submission)
    return by_entry


def _score(submission: Submission, part: Part) -> float:
    score = submission.public_score if part == "public" else submission.private_score
    return score or 0.0


def _best(submissions: list[Submission], part: Part) -> Submission:
    """Highest score on ``part``; the earlier submission wins a tie (the list is in time order)."""
    best = submissions[0]
    for s in submissions[1:]:
        if _score(s, part) > _score(best, part):
            best = s
    return best


def counted(session: Session, stage: Stage, part: Part) -> dict[int, Submission]:
    """Each entry's submission that counts on the ``public`` or the final (``private``) board."""
    chosen: dict[int, Submission] = {}
    entries = {e.id: e for e in entries_of(session, stage.challenge_id)}
    for entry_id, submissions in _succeeded(session, stage).items():
        if entries[entry_id].state is EntryState.withdrawn:
            continue
        if part == "public":
            chosen[entry_id] = _best(submissions, "public")
        else:
            selected = [s for s in submissions if s.selected] or [_best(submissions, "public")]
            chosen[entry_id] = _best(selected, "private")
    return chosen


def compute_board(session: Session, stage: Stage, part: Part, data_dir: Path) -> Board:
    """Score the counted submissions of every entry together on the stage's ``part``."""
    if perf_stage(stage.task) is not None:  # measured, not scored: mosu.race.perf
        chosen = perf_board(session, stage, counted(session, stage, part), data_dir)
        return replace(chosen, part=part, computed_at=clock.now().isoformat())
    data = stage_data(session, stage)
    entries = {e.id: e for e in entries_of(session, stage.challenge_id)}
    contenders = [
        Contender(
            entry_id=entry_id,
            entry_name=entries[entry_id].name,
            submission_id=s.id,
            submitted_at=s.created_at.isoformat(),
            outcomes=outcomes_of(data_dir, s),
            price=submission_price(s),
        )
        for entry_id, s in counted(session, stage, part).items()
    ]
    result = board(
        data.part_task(part),
        contenders,
        min_coverage=stage.min_coverage,
        rule=parse_rule(stage.rule),
    )
    return replace(result, part=part, computed_at=clock.now().isoformat())


def submission_price(submission: Submission) -> Price | None:
    """The token price a submission was run at (yuan per million tokens), if it had one."""
    price = (submission.service or {}).get("price")
    return None if price is None else Price(float(price["input"]), float(price["output"]))


def refresh_public_board(session: Session, stage_id: int, data_dir: Path) -> None:
    """Recompute the public leaderboard (the stage row is locked so writers take turns)."""
    stage = session.scalars(select(Stage).where(Stage.id == stage_id).with_for_update()).one()
    stage.leaderboard_public = compute_board(session, stage, "public", data_dir).to_json()


def stage_board(stage: Stage, part: Part) -> Board | None:
    """The stage's public board, or its final (``private``) one; None before it exists."""
    data = stage.leaderboard_public if part == "public" else stage.leaderboard_final
    return None if data is None else Board.from_json(data)


PUBLIC_ROW_KEYS = (
    "position",
    "rank",
    "entry",
    "entry_id",
    "score",
    "low",
    "high",
    "submitted_at",
    "service",
    "answered_score",
    "composite",
    "reason",
    "pareto",
)


@dataclass(frozen=True)
class ShownRow:
    """A board row as one reader sees it: ``full`` with every column, else ranks and scores
    with intervals only; ``own`` when it is the reader's team's row."""

    row: BoardRow
    own: bool
    full: bool

    def to_json(self, lang: i18n.Language = "zh") -> dict[str, Any]:
        """The row as shown, its reason (why it is not ranked) in ``lang``."""
        data = self.row.to_json()
        shown = data if self.full else {k: data[k] for k in PUBLIC_ROW_KEYS}
        reason = self.row.reason_text()
        shown["reason"] = "" if reason is None else i18n.render(reason, lang)
        shown["own"] = self.own
        return shown


@dataclass(frozen=True)
class BoardView:
    """A board as one reader may see it; comparisons only for ``full`` readers."""

    board: Board
    rows: list[ShownRow]
    full: bool
    unranked: list[ShownRow] = field(default_factory=list)

    def to_json(self, lang: i18n.Language = "zh") -> dict[str, Any]:
        out = {k: v for k, v in self.board.to_json().items() if k != "comparisons" or self.full}
        out["rows"] = [r.to_json(lang) for r in self.rows]
        out["unranked"] = [r.to_json(lang) for r in self.unranked]
        out["full"] = self.full
        return out


def view_board(
    session: Session, actor: Actor, challenge: Challenge, data: Board | None
) -> BoardView | None:
    """A board as ``actor`` may see it: full rows for operators, the issuer and the entry's
    own team; everyone else sees ranks and scores with intervals only."""
    if data is None:
        return None
    full = can_read_race_report(actor, challenge.organisation_id)
    listed = entries_of(session, challenge.id)
    entries = {e.id: e for e in listed}
    # only a member of an organisation can own a row that is not everyone's (operators own all)
    teams = entry_teams(session, listed) if actor.organisation_id is not None else {}

    def shown(row: BoardRow) -> ShownRow:
        entry = entries.get(row.entry_id)
        own = entry is not None and can_see_entry(actor, teams.get(entry.id, set()))
        return ShownRow(row, own=own, full=full or own)

    return BoardView(data, [shown(r) for r in data.rows], full, [shown(r) for r in data.unranked])
