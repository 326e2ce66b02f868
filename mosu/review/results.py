"""A panel's results (评审结果): each application's expert scores, the dropped extremes, the
panel score and rank, the spread flag, and the panel's agreement (Kendall's W, ICC(2,k)).

Who sees what:

* while the panel is open, operators see its progress only, and everyone else is refused:
  no route shows an expert's scores before the panel closes;
* once it is closed, everyone who can see the challenge sees the ranking, the panel
  scores and each expert's scores under the expert's name (as the MIIT's calls publish
  their rankings); an expert's comment only operators and the application's own team
  read. An application's name is shown to operators, the issuer, its own team, and once
  it is shortlisted (who applied is otherwise not public); to the panel's members too
  under 单盲. Everyone else reads its code (申报材料 A, B, …).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mosu import i18n
from mosu.accounts.models import User
from mosu.challenges.applications import team_of
from mosu.challenges.catalogue import get_challenge
from mosu.challenges.models import (
    REVIEWED_STATES,
    SHORTLISTED_STATES,
    Application,
    Challenge,
)
from mosu.i18n import N_
from mosu.permissions import (
    Actor,
    can_read_all_applications,
    can_read_decision_reason,
    can_see_panel_progress,
)
from mosu.review.aggregate import (
    TRIM_FROM,
    PanelScore,
    icc2k,
    icc_reading,
    kendall_w,
    panel_score,
    w_reading,
)
from mosu.review.errors import (
    NO_REVIEW_PANEL,
    RESULTS_AFTER_CLOSE,
)
from mosu.review.models import (
    Blinding,
    MemberState,
    Panel,
    PanelMember,
    PanelState,
    ReviewScore,
    Rubric,
)
from mosu.review.panel_views import blind_code, blind_codes

DIGITS = 9
"""Panel scores equal to this many decimals share a rank."""


def panel_of(session: Session, challenge_id: int) -> Panel | None:
    """The challenge's panel, if one was drawn."""
    return session.scalar(
        select(Panel)
        .where(Panel.challenge_id == challenge_id)
        .options(selectinload(Panel.members).selectinload(PanelMember.expert))
    )


# ---------------------------------------------------------------- the arithmetic, unfiltered


@dataclass(frozen=True)
class Scored:
    """One application's scores and its aggregate, before anyone's view is applied."""

    application: Application
    scores: list[ReviewScore]
    aggregate: PanelScore
    rank: int


@dataclass(frozen=True)
class Tally:
    """A panel's scored applications in rank order, and its agreement (None when fewer than
    two experts scored every application, or fewer than two applications were scored)."""

    panel: Panel
    rubric: Rubric
    rows: list[Scored]
    experts: list[int]
    agreement: Agreement | None


class Agreement(BaseModel):
    """The panel's agreement over the experts who scored every application."""

    experts: int
    applications: int
    kendall_w: float
    chi2: float
    df: int
    p: float
    w_reading: str
    icc: float | None
    icc_low: float | None
    icc_high: float | None
    icc_reading: str


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x


def counted_experts(panel: Panel) -> list[int]:
    """The experts whose scores count: the confirmed members, in drawn order."""
    return [m.expert_id for m in panel.members if m.state is MemberState.confirmed]


def tally(session: Session, panel: Panel, rubric: Rubric) -> Tally:
    """Aggregate every scored application of ``panel`` (withdrawn and rejected ones left
    out), ranked by panel score (equal scores share a rank; the earlier application lists
    first)."""
    experts = counted_experts(panel)
    found = session.scalars(
        select(ReviewScore)
        .where(ReviewScore.panel_id == panel.id, ReviewScore.expert_id.in_(experts))
        .options(selectinload(ReviewScore.application).selectinload(Application.members))
        .order_by(ReviewScore.application_id, ReviewScore.expert_id)
    )
    by_application: dict[int, list[ReviewScore]] = {}
    for score in found:
        if score.application.state in REVIEWED_STATES:
            by_application.setdefault(score.application_id, []).append(score)
    position = {e: i for i, e in enumerate(experts)}
    scored = []
    for scores in by_application.values():
        scores.sort(key=lambda s: position[s.expert_id])
        totals = {s.expert_id: s.total for s in scores}
        scored.append((scores, panel_score(totals, threshold=rubric.dispersion_threshold)))
    scored.sort(key=lambda item: (-round(item[1].score, DIGITS), item[0][0].application_id))
    rows: list[Scored] = []
    for i, (scores, aggregate) in enumerate(scored):
        rank = i + 1
        if rows and round(rows[-1].aggregate.score, DIGITS) == round(aggregate.score, DIGITS):
            rank = rows[-1].rank
        rows.append(Scored(scores[0].application, scores, aggregate, rank))
    return Tally(panel, rubric, rows, experts, _agreement(rows, experts))


def _agreement(rows: list[Scored], experts: list[int]) -> Agreement | None:
    complete = [e for e in experts if all(any(s.expert_id == e for s in r.scores) for r in rows)]
    if len(complete) < 2 or len(rows) < 2:
        return None
    totals = {(s.expert_id, r.application.id): s.total for r in rows for s in r.scores}
    matrix = np.array([[totals[(e, r.application.id)] for r in rows] for e in complete])
    w = kendall_w(matrix)
    icc = icc2k(matrix)
    reading = icc_reading(icc.icc) if not math.isnan(icc.icc) else N_("无法计算")
    return Agreement(
        experts=len(complete),
        applications=len(rows),
        kendall_w=w.w,
        chi2=w.chi2,
        df=w.df,
        p=w.p,
        w_reading=w_reading(w.w),
        icc=_finite(icc.icc),
        icc_low=_finite(icc.low),
        icc_high=_finite(icc.high),
        icc_reading=reading,
    )


def rubric_and_panel(session: Session, challenge_id: int) -> tuple[Rubric, Panel]:
    """The challenge's rubric and panel, or not found."""
    panel = panel_of(session, challenge_id)
    rubric = session.get(Rubric, challenge_id)
    if panel is None or rubric is None:
        raise NO_REVIEW_PANEL()
    return rubric, panel


# ---------------------------------------------------------------- what a reader sees


class ExpertScoreOut(BaseModel):
    expert_id: int
    expert: str
    scores: dict[str, float]
    total: float
    dropped: str | None
    """``high`` or ``low`` when this total was left out of the panel score."""
    comment: str | None
    """None for readers who may not see comments."""


class ApplicationResultOut(BaseModel):
    application_id: int
    label: str
    """The lead organisation's name, or the application's code for readers who may not see
    who applied."""
    code: str
    letter: str
    """The code's letter, which the pages show in the reader's language."""
    own: bool
    state: str
    rank: int
    panel_score: float
    experts: int
    dispersion: float
    flagged: bool
    scores: list[ExpertScoreOut]


class ProgressOut(BaseModel):
    members: int
    confirmed: int
    applications: int
    scores: int
    expected: int


class CriterionOut(BaseModel):
    key: str
    name: str
    weight: int


class PanelResultsOut(BaseModel):
    challenge_id: int
    panel_id: int
    state: str
    blinding: str
    dispersion_threshold: float
    trim_from: int
    criteria: list[CriterionOut]
    progress: ProgressOut
    applications: list[ApplicationResultOut]
    """Empty while the panel is open (operators see the progress only)."""
    agreement: Agreement | None
    comments_shown: bool
    """Whether the reader sees any comment (operators, or an applicant's own team)."""


def _progress(session: Session, panel: Panel) -> ProgressOut:
    experts = counted_experts(panel)
    applications = session.scalars(
        select(Application.id).where(
            Application.challenge_id == panel.challenge_id,
            Application.state.in_(REVIEWED_STATES),
        )
    ).all()
    submitted = session.scalars(
        select(ReviewScore.id).where(
            ReviewScore.panel_id == panel.id, ReviewScore.expert_id.in_(experts)
        )
    ).all()
    return ProgressOut(
        members=len(panel.members),
        confirmed=len(experts),
        applications=len(applications),
        scores=len(submitted),
        expected=len(experts) * len(applications),
    )


def _sees_name(
    actor: Actor, challenge: Challenge, panel: Panel, rubric: Rubric, application: Application
) -> bool:
    if can_read_all_applications(actor, challenge.organisation_id):
        return True
    if actor.organisation_id is not None and actor.organisation_id in team_of(application):
        return True
    if application.state in SHORTLISTED_STATES:
        return True
    on_panel = any(m.expert_id == actor.user_id for m in panel.members)
    return on_panel and actor.user_id is not None and rubric.blinding is Blinding.single


def panel_results(
    session: Session, *, actor: Actor, challenge_id: int, lang: i18n.Language = "zh"
) -> PanelResultsOut:
    """The panel's results as ``actor`` may see them (see the module's docstring), the
    agreement's readings in ``lang``: 404 for a challenge the actor cannot see or without a
    panel; 403 before the panel closes for everyone but operators, who get its progress."""
    challenge = get_challenge(session, challenge_id, actor=actor)
    rubric, panel = rubric_and_panel(session, challenge.id)
    closed = panel.state is PanelState.closed
    if not closed and not can_see_panel_progress(actor):
        raise RESULTS_AFTER_CLOSE()
    criteria = [
        CriterionOut(key=c["key"], name=c["name"], weight=int(c["weight"])) for c in rubric.criteria
    ]
    out = PanelResultsOut(
        challenge_id=challenge.id,
        panel_id=panel.id,
        state=panel.state.value,
        blinding=rubric.blinding.value,
        dispersion_threshold=rubric.dispersion_threshold,
        trim_from=TRIM_FROM,
        criteria=criteria,
        progress=_progress(session, panel),
        applications=[],
        agreement=None,
        comments_shown=False,
    )
    if not closed:
        return out
    counted = tally(session, panel, rubric)
    names = {m.expert_id: _expert_name(m.expert) for m in panel.members}
    codes = blind_codes(panel, [r.application.id for r in counted.rows])
    for row in counted.rows:
        application = row.application
        code = blind_code(codes[application.id])
        team = team_of(application)
        own = actor.organisation_id is not None and actor.organisation_id in team
        comments = can_read_decision_reason(actor, team)
        out.comments_shown = out.comments_shown or comments
        shown = _sees_name(actor, challenge, panel, rubric, application)
        aggregate = row.aggregate
        out.applications.append(
            ApplicationResultOut(
                application_id=application.id,
                label=application.organisation.name_zh if shown else code,
                code=code,
                letter=codes[application.id],
                own=own,
                state=application.state.value,
                rank=row.rank,
                panel_score=aggregate.score,
                experts=aggregate.count,
                dispersion=aggregate.dispersion,
                flagged=aggregate.flagged,
                scores=[
                    ExpertScoreOut(
                        expert_id=s.expert_id,
                        expert=names.get(s.expert_id, ""),
                        scores=dict(s.scores),
                        total=s.total,
                        dropped=_dropped(aggregate, s.expert_id),
                        comment=s.comment if comments else None,
                    )
                    for s in row.scores
                ],
            )
        )
    found = counted.agreement
    out.agreement = found and found.model_copy(
        update={
            "w_reading": i18n.gettext(lang, found.w_reading),
            "icc_reading": i18n.gettext(lang, found.icc_reading),
        }
    )
    return out


def _dropped(aggregate: PanelScore, expert_id: int) -> str | None:
    if aggregate.dropped_high == expert_id:
        return "high"
    if aggregate.dropped_low == expert_id:
        return "low"
    return None


def _expert_name(user: User) -> str:
    return user.display_name or user.username
