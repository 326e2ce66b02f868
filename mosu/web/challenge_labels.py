"""The words the challenge pages use for lifecycle moves and audit-log actions (catalogued
Chinese, and the challenge form's fields; other page modules add their own actions to :data:`ACTION_LABELS`)."""

from __future__ import annotations

from mosu.i18n import N_

TRANSITION_LABELS = {
    "publish": N_("发布榜单"),
    "close_applications": N_("截止揭榜申请"),
    "start_race": "开始赛马",
    "decide": N_("确认揭榜成功"),
    "start_delivery": N_("进入攻关"),
    "accept": N_("验收完成"),
    "close": N_("关闭榜单（未揭榜）"),
}
ACTION_LABELS = {
    **TRANSITION_LABELS,
    "created": N_("创建榜单草稿"),
    "application_submitted": N_("提交揭榜申请"),
    "application_withdrawn": N_("撤回揭榜申请"),
    "application_approved": N_("揭榜申请通过"),
    "application_rejected": N_("揭榜申请未通过"),
    "application_shortlisted": "入围",
    "stage_added": "添加赛马阶段",
    "baseline_added": "添加平台基线",
    "stage_closed": N_("阶段结束并淘汰"),
}
FIELDS = (
    "kind",
    "title",
    "category",
    "keywords",
    "bounty_yuan",
    "requirements",
    "valid_from",
    "valid_until",
    "region",
    "issuer",
    "max_applications_per_org",
    "shortlist_places",
    "winner_places",
)
"""The challenge form's fields, in order."""

__all__ = ["ACTION_LABELS", "FIELDS", "TRANSITION_LABELS"]
