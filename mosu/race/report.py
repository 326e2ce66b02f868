"""The race report (赛马报告): every stage's boards with intervals, per-category breakdown,
confusion matrices and error counts per entry, and the challenge's audit trail.

What a reader sees is filtered by :func:`mosu.race.view_board`: operators and
the issuing demand organisation get everything; a supplier gets its own rows in full and
others' ranks and scores; the public gets ranks and scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from mosu import i18n
from mosu import race as races
from mosu.challenges.audit import events_out
from mosu.challenges.models import Challenge, StageState
from mosu.core import clock
from mosu.permissions import Actor, can_read_race_report
from mosu.race.entries import shown_state
from mosu.race.gallery import stage_gallery
from mosu.race.perf import perf_view
from mosu.race.scoring import BoardRow


def stage_titles(stage_name: str, final: bool, lang: i18n.Language) -> tuple[str, str]:
    """The titles of a stage's score chart and quality-cost chart, in ``lang``."""
    board = (
        i18n.gettext(lang, "{stage}（最终）", stage=stage_name)
        if final
        else i18n.gettext(lang, "{stage}（公开）", stage=stage_name)
    )
    return board, i18n.gettext(lang, "{stage}：质量—成本", stage=stage_name)


def scores_figure(rows: Sequence[BoardRow], title: str) -> dict[str, Any]:
    """Plotly figure: each entry's score with its 95% interval, best on top."""
    ordered = list(reversed(rows))
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "x": [r.score * 100 for r in ordered],
                "y": [f"{r.position}. {r.entry}" for r in ordered],
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [(r.high - r.score) * 100 for r in ordered],
                    "arrayminus": [(r.score - r.low) * 100 for r in ordered],
                },
                "marker": {"size": 10, "color": "#1f5fa8"},
                "hovertemplate": "%{y}: %{x:.1f}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": title},
            "xaxis": {"title": {"text": "%"}, "range": [0, 100]},
            "margin": {"l": 160, "r": 20, "t": 40, "b": 40},
            "height": 80 + 36 * max(1, len(rows)),
        },
    }


def cost_figure(
    rows: Sequence[BoardRow], title: str, lang: i18n.Language = "zh"
) -> dict[str, Any] | None:
    """Plotly figure: quality (the primary metric, %) against cost per 1,000 samples (yuan)
    for the ranked entries with a cost, the Pareto front joined by a line (entries no other
    entry beats on both); None when no entry has a cost."""
    priced = [r for r in rows if r.service is not None and r.service.get("cost_per_1k") is not None]
    if not priced:
        return None
    front = sorted((r for r in priced if r.pareto), key=lambda r: r.service["cost_per_1k"])  # type: ignore[index]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": i18n.gettext(lang, "参赛队"),
                "x": [r.service["cost_per_1k"] for r in priced],  # type: ignore[index]
                "y": [r.score * 100 for r in priced],
                "text": [r.entry for r in priced],
                "textposition": "top center",
                "marker": {
                    "size": 11,
                    "color": ["#c2410c" if r.pareto else "#1f5fa8" for r in priced],
                },
                "hovertemplate": "%{text}: ¥%{x:.4f} / 1k, %{y:.1f}<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": i18n.gettext(lang, "帕累托前沿"),
                "x": [r.service["cost_per_1k"] for r in front],  # type: ignore[index]
                "y": [r.score * 100 for r in front],
                "line": {"color": "#c2410c", "dash": "dot"},
                "hoverinfo": "skip",
            },
        ],
        "layout": {
            "title": {"text": title},
            "xaxis": {"title": {"text": i18n.gettext(lang, "每千样本成本（元）")}},
            "yaxis": {"title": {"text": "%"}},
            "margin": {"l": 50, "r": 20, "t": 40, "b": 50},
            "height": 320,
            "showlegend": True,
        },
    }


def report_data(
    session: Session,
    actor: Actor,
    challenge: Challenge,
    data_dir: Path | None = None,
    lang: i18n.Language = "zh",
) -> dict[str, Any]:
    """Everything the report shows, as the actor may see it, its charts' words in ``lang``;
    with ``data_dir`` (where the submissions' outputs are), a vision stage's gallery of
    examples (operators only)."""
    full = can_read_race_report(actor, challenge.organisation_id)
    stages = []
    for stage in challenge.stages:
        public = races.view_board(session, actor, challenge, races.stage_board(stage, "public"))
        final = (
            races.view_board(session, actor, challenge, races.stage_board(stage, "private"))
            if stage.state is StageState.closed
            else None
        )
        perf = perf_view(stage)
        shown = None if perf else final or public  # a perf stage has its own board and chart
        titles = stage_titles(stage.name, final is not None, lang)
        stages.append(
            {
                "id": stage.id,
                "position": stage.position,
                "name": stage.name,
                "status": races.stage_status(stage),
                "rule": i18n.render(races.cut_rule_text(stage), lang),
                "scoring": i18n.render(races.scoring_rule_text(stage), lang),
                "min_coverage": stage.min_coverage,
                "opens_at": clock.local(stage.opens_at).isoformat(),
                "closes_at": clock.local(stage.closes_at).isoformat(),
                "public": public.to_json(lang) if public else None,
                "final": final.to_json(lang) if final else None,
                "perf": perf,
                "gallery": stage_gallery(session, actor, stage, data_dir) if data_dir else [],
                "figure": scores_figure(shown.board.rows, titles[0])
                if shown and shown.rows
                else None,
                "cost_figure": cost_figure(shown.board.rows, titles[1], lang) if shown else None,
            }
        )
    events = [
        {
            "at": e.at.isoformat(),
            "actor": e.actor_organisation,
            "actor_name": e.actor_name,
            "action": e.action,
            "from": e.from_state,
            "to": e.to_state,
            "reason": e.reason,
            "details": e.details,
        }
        for e in events_out(session, actor=actor, challenge=challenge, lang=lang)
    ]
    entries = [
        {
            "id": e.id,
            "name": e.name,
            "state": e.state.value,
            "shown_state": shown_state(e, challenge.state),  # a catalogued phrase
            "baseline": e.baseline,
            "cut_reason": i18n.render(e.cut_reason, lang) if e.cut_reason else "",
        }
        for e in races.entries_of(session, challenge.id)
    ]
    return {
        "challenge": {
            "id": challenge.id,
            "title": challenge.title,
            "state": challenge.state.value,
            "issuer": challenge.issuer,
        },
        "full": full,
        "stages": stages,
        "entries": entries,
        "events": events,
    }
