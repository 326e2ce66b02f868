"""The catalogue of notice kinds (通知类型): each kind's topic and its title and body in
Chinese and English, as templates over the notice's stored parameters.

A notice stores its kind and parameters, never rendered text: it is rendered in the reader's
language when shown or e-mailed. Parameters whose names end in ``_at`` hold ISO times and
are shown in Beijing time; those ending in ``_fen`` hold money in fen and are shown in yuan;
a catalogued :class:`~mosu.core.text.Text` (stored with ``to_json``) is shown in the language.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass
from typing import Any, Literal

from mosu import i18n
from mosu.core import clock
from mosu.core.money import fmt_yuan
from mosu.core.text import Text

Language = Literal["zh", "en"]
Topic = Literal["applications", "race", "vouchers", "review", "deadlines", "matching"]

TOPICS: tuple[Topic, ...] = ("applications", "race", "vouchers", "review", "deadlines", "matching")
TOPIC_NAMES: dict[Topic, tuple[str, str]] = {
    "applications": ("揭榜申请与入围", "Applications and shortlisting"),
    "race": ("赛马进程与结果", "Races and results"),
    "vouchers": ("券申请与兑付", "Vouchers and payouts"),
    "review": ("专家评审", "Expert review"),
    "deadlines": ("截止提醒", "Deadline reminders"),
    "matching": ("供需对接", "Matching"),
}


@dataclass(frozen=True)
class Kind:
    """One kind of notice: its topic and its text in both languages."""

    topic: Topic
    zh: str
    en: str
    zh_body: str = ""
    en_body: str = ""


KINDS: dict[str, Kind] = {
    "application_approved": Kind(
        "applications",
        "您对“{challenge}”的揭榜申请已通过审核",
        "Your application to “{challenge}” was approved",
    ),
    "application_rejected": Kind(
        "applications",
        "您对“{challenge}”的揭榜申请未通过",
        "Your application to “{challenge}” was rejected",
        "原因：{reason}",
        "Reason: {reason}",
    ),
    "application_decided_issuer": Kind(
        "applications",
        "“{challenge}”：{organisation} 的揭榜申请已{verdict_zh}",
        "“{challenge}”: the application of {organisation} was {verdict_en}",
    ),
    "application_shortlisted": Kind(
        "applications",
        "您对“{challenge}”的揭榜申请已入围赛马",
        "Your application to “{challenge}” is shortlisted for the race",
        "参赛队名：{entry}",
        "Entry name: {entry}",
    ),
    "race_started": Kind(
        "race",
        "“{challenge}”的赛马已开始",
        "The race of “{challenge}” has started",
        "第一阶段“{stage}”于 {closes_at} 截止",
        "The first stage “{stage}” closes at {closes_at}",
    ),
    "stage_closed": Kind(
        "race",
        "“{challenge}”的阶段“{stage}”已结束，“{entry}”晋级",
        "Stage “{stage}” of “{challenge}” has closed; “{entry}” goes on",
    ),
    "entry_cut": Kind(
        "race",
        "“{challenge}”的阶段“{stage}”已结束，“{entry}”未能晋级",
        "Stage “{stage}” of “{challenge}” has closed; “{entry}” was cut",
        "{reason}",
        "{reason}",
    ),
    "entry_won": Kind(
        "race",
        "恭喜！“{entry}”在“{challenge}”中揭榜成功",
        "Congratulations! “{entry}” won “{challenge}”",
    ),
    "entry_not_won": Kind(
        "race",
        "“{challenge}”已确定揭榜单位，“{entry}”未获胜",
        "The winners of “{challenge}” are named; “{entry}” did not win",
    ),
    "challenge_decided": Kind(
        "race",
        "“{challenge}”已确定揭榜单位：{winners}",
        "The winners of “{challenge}” are named: {winners}",
    ),
    "voucher_approved": Kind(
        "vouchers",
        "“{programme}”的券申请已批准，补贴 {approved_fen}",
        "Your voucher application to “{programme}” was approved: {approved_fen}",
        "{reason}",
        "{reason}",
    ),
    "voucher_rejected": Kind(
        "vouchers",
        "“{programme}”的券申请未通过",
        "Your voucher application to “{programme}” was rejected",
        "原因：{reason}",
        "Reason: {reason}",
    ),
    "voucher_paid": Kind(
        "vouchers",
        "“{programme}”的补贴已兑付 {paid_fen}",
        "The subsidy of “{programme}” was paid: {paid_fen}",
        "付款凭证：{reference}",
        "Payment reference: {reference}",
    ),
    "review_invited": Kind(
        "review",
        "您被抽选为“{challenge}”的评审专家，请确认无利益冲突",
        "You were drawn for the expert panel of “{challenge}”: please confirm no conflict",
    ),
    "review_reminder": Kind(
        "review",
        "“{challenge}”的评审将于 {deadline_at} 截止，请及时{task_zh}",
        "The review of “{challenge}” closes at {deadline_at}: please {task_en}",
    ),
    "review_overdue": Kind(
        "review",
        "“{challenge}”的评审已过截止时间（{deadline_at}），请尽快{task_zh}",
        "The review of “{challenge}” passed its deadline ({deadline_at}): please {task_en}",
    ),
    "stage_closing_soon": Kind(
        "deadlines",
        "“{challenge}”的阶段“{stage}”将于 {closes_at} 截止",
        "Stage “{stage}” of “{challenge}” closes at {closes_at}",
        "请在截止前选定最终提交。",
        "Select your final submissions before it closes.",
    ),
    "applications_closing_soon": Kind(
        "deadlines",
        "“{challenge}”的揭榜申请将于 {closes_at} 截止",
        "Applications to “{challenge}” close at {closes_at}",
        "贵单位关注了该场景，尚未提交揭榜申请。",
        "Your organisation showed interest in this scenario and has not applied yet.",
    ),
    "interest": Kind(
        "matching",
        "{organisation} 对应用场景“{scenario}”表达了对接意向",
        "{organisation} is interested in your scenario “{scenario}”",
        "{note}",
        "{note}",
    ),
}


def topic_of(kind: str) -> Topic | None:
    """The topic of a kind in the catalogue (``None`` for a kind it does not know)."""
    known = KINDS.get(kind)
    return known.topic if known else None


def _shown(name: str, value: Any, language: Language) -> str:
    if value is None:
        return ""
    if name.endswith("_at") and isinstance(value, str):
        moment = clock.local(dt.datetime.fromisoformat(value))
        return moment.strftime("%Y-%m-%d %H:%M") + (
            " 北京时间" if language == "zh" else " (Beijing)"
        )
    if name.endswith("_fen") and isinstance(value, int):
        return f"{fmt_yuan(value)} 元" if language == "zh" else f"¥{fmt_yuan(value)}"
    if isinstance(value, dict) and "text" in value:  # a catalogued text (a cut reason)
        return i18n.render(Text.from_json(value), language)
    return str(value)


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, params: dict[str, Any], language: Language) -> str:
    """``template`` with each ``{name}`` replaced by the parameter, shown for ``language``."""
    names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    shown = _Params({n: _shown(n, params.get(n), language) for n in names})
    return template.format_map(shown)


def render(kind: str, params: dict[str, Any], language: Language) -> tuple[str, str]:
    """A notice's title and body in ``language``; an unknown kind renders as its name."""
    known = KINDS.get(kind)
    if known is None:
        return kind, ""
    if language == "en":
        return fill(known.en, params, language), fill(known.en_body, params, language)
    return fill(known.zh, params, language), fill(known.zh_body, params, language)


def when(moment: dt.datetime) -> str:
    """A time as a notice parameter (ISO, UTC): shown in Beijing time when rendered."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat()
