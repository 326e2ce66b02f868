"""Arena pages (竞技场): the list, a leaderboard with intervals, heatmap and online Elo,
and the blind voting page (keyboard: 1/A, 2/B, 3 tie, 4 both bad; N next)."""

from __future__ import annotations

from functools import partial
from typing import Any

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.accounts.deps import PublicActor
from mosu.arena import board, guests, service, views
from mosu.arena.models import Arena
from mosu.arena.ratings import Leaderboard
from mosu.arena.schemas import BattleOut
from mosu.arena.winrate import empirical_win_rate, leaderboard_order, win_rate_heatmap
from mosu.core.settings import Settings
from mosu.deps import SessionDep, SettingsDep
from mosu.evals.images import MIME
from mosu.permissions import Actor, can_vote_in_arena
from mosu.web.charts import COLOURS, figure_dict, layout
from mosu.web.errors import CHOOSE_VOTE
from mosu.web.forms import FormDep, text
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)
CHOICES = ("model_a", "model_b", "tie", "tie (bothbad)")
NOTICES = ("already",)
"""Notes the voting page may show: ``already`` (that battle had the vote already)."""


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
        xaxis_title=i18n.gettext(lang, "对手（列）"),
        yaxis_title=i18n.gettext(lang, "模型（行）"),
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
        "links": views.model_links(view.arena),
    }
    return render(request, "arena/detail.html", context, actor=actor, session=session)


def _guest_id(request: Request, session: Session, settings: Settings, actor: Actor) -> int | None:
    """The visitor's anonymous voting session, when they are not signed in and have one."""
    if actor.is_authenticated:
        return None
    guest = guests.guest_for(
        session, secret_key=settings.secret_key, cookie=request.cookies.get(guests.COOKIE)
    )
    return guest.id if guest is not None else None


def _voting(
    request: Request,
    session: Session,
    actor: Actor,
    arena: Arena,
    guest_id: int | None,
    *,
    shown: BattleOut | None,
    notice: str = "",
) -> HTMLResponse:
    context: dict[str, Any] = {
        "arena": arena,
        "b": shown,
        "counter": views.vote_counter(session, actor=actor, arena=arena, guest_id=guest_id),
        "links": {},
        "anonymous": guest_id is not None,
        "notice": notice,
    }
    if shown is not None and shown.voted:
        context["links"] = views.model_links(service.arena_out(session, arena))
    return render(request, "arena/vote.html", context, actor=actor, session=session)


@router.get("/arena/{arena_id}/vote")
def vote_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PublicActor,
    arena_id: int,
    notice: str = "",
) -> HTMLResponse:
    """投票: one prompt and two anonymous answers; a visitor who is not signed in first
    starts an anonymous session (one button, no sign-up)."""
    arena = service.get_arena(session, arena_id)
    guest_id = _guest_id(request, session, settings, actor)
    if not can_vote_in_arena(actor, anonymous_session=guest_id is not None):
        return _voting(request, session, actor, arena, None, shown=None)
    battle = service.serve_battle(session, actor=actor, arena=arena, guest_id=guest_id)
    session.commit()
    shown = views.battle(battle, actor=actor, guest_id=guest_id)
    notice = notice if notice in NOTICES else ""
    return _voting(request, session, actor, arena, guest_id, shown=shown, notice=notice)


@router.post("/arena/{arena_id}/guest")
def start_anonymous(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PublicActor, arena_id: int
) -> Response:
    """Start an anonymous voting session (a signed cookie naming a session kept here)."""
    arena = service.get_arena(session, arena_id)
    target = RedirectResponse(f"/arena/{arena.id}/vote", status_code=303)
    if actor.is_authenticated or _guest_id(request, session, settings, actor) is not None:
        return target
    address = request.client.host if request.client else None
    _guest, cookie = guests.start_guest(session, secret_key=settings.secret_key, address=address)
    session.commit()
    target.set_cookie(
        guests.COOKIE,
        cookie,
        max_age=guests.COOKIE_DAYS * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return target


@router.get("/arena/{arena_id}/battles/{battle_id}")
def battle_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PublicActor,
    arena_id: int,
    battle_id: int,
) -> HTMLResponse:
    """One of the voter's battles: after the vote, which models fought (linked to the
    registry) and the voter's choice; reloading it is harmless."""
    arena = service.get_arena(session, arena_id)
    guest_id = _guest_id(request, session, settings, actor)
    battle = service.own_battle(
        session, actor=actor, arena=arena, battle_id=battle_id, guest_id=guest_id
    )
    shown = views.battle(battle, actor=actor, guest_id=guest_id)
    return _voting(request, session, actor, arena, guest_id, shown=shown)


@router.post("/arena/{arena_id}/battles/{battle_id}/vote")
def vote_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PublicActor,
    arena_id: int,
    battle_id: int,
    form: FormDep,
) -> Response:
    """Record the vote, then show the battle with the models revealed (303). A repeated
    vote shows the next battle with a note; past the votes per minute, the wait page."""
    arena = service.get_arena(session, arena_id)
    guest_id = _guest_id(request, session, settings, actor)
    if not can_vote_in_arena(actor, anonymous_session=guest_id is not None):
        return RedirectResponse(f"/arena/{arena.id}/vote", status_code=303)
    battle = service.own_battle(
        session, actor=actor, arena=arena, battle_id=battle_id, guest_id=guest_id
    )
    winner = text(form, "winner")
    if winner not in CHOICES:
        raise CHOOSE_VOTE()
    try:
        service.cast_vote(
            session, actor=actor, arena=arena, battle=battle, winner=winner, guest_id=guest_id
        )
    except service.AlreadyVoted:
        session.rollback()
        return RedirectResponse(f"/arena/{arena.id}/vote?notice=already", status_code=303)
    except service.RateLimited:
        session.rollback()
        return RedirectResponse(f"/arena/{arena.id}/wait", status_code=303)
    session.commit()
    return RedirectResponse(f"/arena/{arena.id}/battles/{battle.id}", status_code=303)


IMAGE_CACHE = "public, max-age=86400, immutable"
"""An image's URL names its content's hash, so what it answers never changes (signed-in
answers still get ``no-store`` from :mod:`mosu.web.headers`)."""


@router.get("/arena/{arena_id}/images/{sha256}")
def prompt_image(session: SessionDep, actor: PublicActor, arena_id: int, sha256: str) -> Response:
    """A prompt's image, for the voting page: only an image of this arena's prompts, with
    its own content type, ``nosniff`` and a cache lifetime."""
    image = views.arena_image(session, actor=actor, arena_id=arena_id, sha256=sha256)
    return Response(
        image.data,
        media_type=MIME[image.format],
        headers={"Cache-Control": IMAGE_CACHE, "X-Content-Type-Options": "nosniff"},
    )


@router.get("/arena/{arena_id}/wait", response_model=None)
def wait_page(
    request: Request, session: SessionDep, settings: SettingsDep, actor: PublicActor, arena_id: int
) -> Response:
    """投票太快: how many seconds until the next vote (counting down with JavaScript, a
    refresh and a link without), then back to voting."""
    arena = service.get_arena(session, arena_id)
    guest_id = _guest_id(request, session, settings, actor)
    seconds = views.seconds_to_wait(session, actor=actor, arena=arena, guest_id=guest_id)
    if seconds <= 0:
        return RedirectResponse(f"/arena/{arena.id}/vote", status_code=303)
    context = {"arena": arena, "seconds": seconds}
    return render(request, "arena/wait.html", context, actor=actor, session=session, status=429)
