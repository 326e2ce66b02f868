"""Arena pages (竞技场): the list, a leaderboard with intervals, heatmap and online Elo,
and the blind voting page (keyboard: 1/A, 2/B, 3 tie, 4 both bad; N next)."""

from __future__ import annotations

from functools import partial
from typing import Any

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mosu import i18n
from mosu.accounts.deps import PublicActor, SignedInActor
from mosu.arena import board, service, views
from mosu.arena.ratings import Leaderboard
from mosu.arena.winrate import empirical_win_rate, leaderboard_order, win_rate_heatmap
from mosu.core.errors import Invalid
from mosu.deps import SessionDep
from mosu.web.charts import COLOURS, figure_dict, layout
from mosu.web.forms import FormDep, text
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)
CHOICES = ("model_a", "model_b", "tie", "tie (bothbad)")


def intervals_chart(rated: Leaderboard, lang: i18n.Language) -> dict[str, Any]:
    """Ratings with their 95% intervals, best first."""
    t = partial(i18n.gettext, lang)
    rows = rated.rows()
    names = [r.model for r in rows]
    figure = go.Figure(
        go.Scatter(
            x=[r.rating for r in rows],
            y=names,
            mode="markers",
            marker={"color": COLOURS[0], "size": 9},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [0 if r.upper is None else r.upper - r.rating for r in rows],
                "arrayminus": [0 if r.lower is None else r.rating - r.lower for r in rows],
                "color": COLOURS[0],
            },
            hovertemplate="%{y}: %{x:.0f}<extra></extra>",
        ),
        layout=layout(
            t("评分与 95% 置信区间"),
            height=max(240, 60 + 32 * len(rows)),
            margin={"l": 120, "r": 16, "t": 44, "b": 40},
            yaxis={"autorange": "reversed", "automargin": True},
            xaxis={"gridcolor": "#e5e7eb"},
        ),
    )
    return figure_dict(figure)


def heatmap_chart(rated: board.ArenaBoard, lang: i18n.Language) -> dict[str, Any]:
    assert rated.board is not None and rated.pairs is not None
    figure = win_rate_heatmap(
        rated.battles.models,
        empirical_win_rate(rated.pairs),
        order=leaderboard_order(rated.board),
        title=i18n.gettext(lang, "胜率矩阵（行胜列）"),
    )
    n = len(rated.battles.models)
    figure.update_layout(
        height=max(300, 120 + 36 * n),
        margin={"l": 120, "r": 16, "t": 80, "b": 20},
        paper_bgcolor="rgba(0,0,0,0)",
        font={"size": 12},
    )
    return figure_dict(figure)


@router.get("/arena")
def arena_list(request: Request, session: SessionDep, actor: PublicActor) -> HTMLResponse:
    """竞技场列表."""
    arenas = views.arenas(session)
    return render(request, "arena/list.html", {"arenas": arenas}, actor=actor, session=session)


@router.get("/arena/{arena_id}")
def arena_page(
    request: Request, session: SessionDep, actor: PublicActor, arena_id: int, votes: str = "human"
) -> HTMLResponse:
    """排行榜: Bradley-Terry ratings with intervals, online Elo beside, win-rate heatmap."""
    selection = votes if votes in board.SOURCES else "human"
    view = views.arena_page(
        session,
        actor=actor,
        arena_id=arena_id,
        selection=selection,  # type: ignore[arg-type]
    )
    rated = view.rated
    lang = language(request)
    charts: dict[str, Any] = {}
    if rated.board is not None:
        charts["chart-intervals"] = intervals_chart(rated.board, lang)
        charts["chart-heatmap"] = heatmap_chart(rated, lang)
    context = {
        "arena": view.arena,
        "rated": rated,
        "rows": rated.board.rows() if rated.board is not None else [],
        "charts": charts,
        "agreement": view.agreement,
        "voters": view.voters,
        "can_manage": view.can_manage,
    }
    return render(request, "arena/detail.html", context, actor=actor, session=session)


@router.get("/arena/{arena_id}/vote")
def vote_page(
    request: Request, session: SessionDep, actor: SignedInActor, arena_id: int
) -> HTMLResponse:
    """投票: one prompt and two anonymous answers."""
    arena = service.get_arena(session, arena_id)
    battle = service.serve_battle(session, actor=actor, arena=arena)
    session.commit()
    shown = views.battle(battle, actor=actor)
    return render(
        request, "arena/vote.html", {"arena": arena, "b": shown}, actor=actor, session=session
    )


@router.post("/arena/{arena_id}/battles/{battle_id}/vote")
def vote_submit(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    arena_id: int,
    battle_id: int,
    form: FormDep,
) -> HTMLResponse:
    """Record the vote and show which models fought."""
    arena = service.get_arena(session, arena_id)
    battle = service.own_battle(session, actor=actor, arena=arena, battle_id=battle_id)
    winner = text(form, "winner")
    if winner not in CHOICES:
        raise Invalid("请选择 A、B、平局或都不好 / choose A, B, tie or both bad")
    service.cast_vote(session, actor=actor, arena=arena, battle=battle, winner=winner)
    session.commit()
    shown = views.battle(battle, actor=actor)
    return render(
        request, "arena/vote.html", {"arena": arena, "b": shown}, actor=actor, session=session
    )
