"""Errors of challenges (榜单) and their applications (揭榜申请): publishing and editing a
challenge, moving it through its lifecycle, applying, deciding and shortlisting."""

from __future__ import annotations

from mosu.core.errors import Conflict, Error, Forbidden, Invalid, NotFound

# the catalogue and its lifecycle
NO_SUCH_CHALLENGE = Error("challenges.no_such_challenge", NotFound, "榜单 {challenge_id} 不存在")
ONLY_OPERATORS_PUBLISH = Error(
    "challenges.only_operators_publish", Forbidden, "只有运营方可以发布榜单"
)
ONLY_OPERATORS_EDIT = Error("challenges.only_operators_edit", Forbidden, "只有运营方可以修改榜单")
SCENARIO_CLOSED = Error("challenges.scenario_closed", Conflict, "应用场景已关闭")
ALREADY_PUBLISHED = Error("challenges.already_published", Conflict, "榜单已发布，不能再修改")
WINDOW_ENDS_BEFORE_START = Error(
    "challenges.window_ends_before_start", Invalid, "有效期的开始晚于结束"
)
MORE_WINNERS_THAN_SHORTLIST = Error(
    "challenges.more_winners_than_shortlist", Invalid, "揭榜名额不能多于入围名额"
)
WINDOW_PASSED = Error("challenges.window_passed", Conflict, "有效期已过，请先修改有效期")
DECIDE_ON_RACE = Error(
    "challenges.decide_on_race",
    Conflict,
    "请在赛马页面选择揭榜单位（POST /api/v1/challenges/{challenge_id}/race/decide）",
)
UNKNOWN_TRANSITION = Error("challenges.unknown_transition", Invalid, "未知的状态变更“{transition}”")
NOT_YOUR_TRANSITION = Error("challenges.not_your_transition", Forbidden, "无权执行“{transition}”")
WRONG_STATE = Error(
    "challenges.wrong_state",
    Conflict,
    "榜单当前状态为“{state}”，不能执行 {transition}：请刷新榜单页面，按“榜单流程”中可用的步骤继续",
)
TRANSITION_NEEDS_REASON = Error(
    "challenges.transition_needs_reason", Invalid, "“{transition}”需要填写原因"
)
AUDIT_APPEND_ONLY = Error("challenges.audit_append_only", Conflict, "审计日志只能追加")

# applications
NO_SUCH_APPLICATION = Error(
    "challenges.no_such_application", NotFound, "揭榜申请 {application_id} 不存在"
)
NOT_TAKING_APPLICATIONS = Error(
    "challenges.not_taking_applications", Conflict, "榜单当前不接受揭榜申请"
)
OUTSIDE_WINDOW = Error(
    "challenges.outside_window", Conflict, "不在榜单有效期内（{valid_from} 至 {valid_until}）"
)
ONLY_SUPPLIERS_LEAD = Error(
    "challenges.only_suppliers_lead", Forbidden, "只有供给方可以本组织为牵头单位揭榜"
)
NEEDS_ORGANISATION = Error("challenges.needs_organisation", Forbidden, "请先关联组织")
LEAD_IS_MEMBER = Error("challenges.lead_is_member", Invalid, "牵头单位不能同时是联合体成员")
UNKNOWN_MEMBERS = Error("challenges.unknown_members", Invalid, "联合体成员不存在：{ids}")
FOREIGN_MODELS = Error(
    "challenges.foreign_models", Invalid, "参赛模型须属于牵头单位或联合体成员：{ids}"
)
FILED_MODEL_REQUIRED = Error(
    "challenges.filed_model_required", Invalid, "本榜单要求至少一个已备案（备案有效）的模型"
)
APPLICATIONS_USED = Error(
    "challenges.applications_used", Conflict, "每个组织最多提交 {limit} 份申请"
)
ONLY_LEAD_WITHDRAWS = Error("challenges.only_lead_withdraws", Forbidden, "只有牵头单位可以撤回申请")
ONLY_SUBMITTED_WITHDRAWN = Error(
    "challenges.only_submitted_withdrawn", Conflict, "只能撤回待审核的申请"
)
NO_ATTACHMENT = Error("challenges.no_attachment", NotFound, "该申请没有附件")
ATTACHMENT_MISSING = Error("challenges.attachment_missing", NotFound, "附件不存在")
IDS_NOT_WHOLE = Error("challenges.ids_not_whole", Invalid, "编号应为整数：“{value}”")
INVALID_APPLICATION = Error("challenges.invalid_application", Invalid, "揭榜申请不合法")
BODY_NOT_JSON = Error("challenges.body_not_json", Invalid, "请求体不是 JSON")

# decisions and the shortlist
ONLY_OPERATORS_DECIDE = Error(
    "challenges.only_operators_decide", Forbidden, "只有运营方可以审核申请"
)
NOT_DECIDABLE = Error("challenges.not_decidable", Conflict, "榜单当前状态不能审核申请")
ALREADY_DECIDED = Error("challenges.already_decided", Conflict, "该申请已处理")
REJECTION_NEEDS_REASON = Error("challenges.rejection_needs_reason", Invalid, "驳回须填写原因")
ONLY_OPERATORS_SHORTLIST = Error(
    "challenges.only_operators_shortlist", Forbidden, "只有运营方可以确定入围"
)
CLOSE_APPLICATIONS_FIRST = Error(
    "challenges.close_applications_first",
    Conflict,
    "请先在榜单页面“榜单流程”中截止揭榜申请，再确定入围（/challenges/{challenge_id}#lifecycle）",
)
ONLY_APPROVED_SHORTLISTED = Error(
    "challenges.only_approved_shortlisted", Conflict, "只有审核通过的申请可以入围"
)
SHORTLIST_ELSEWHERE = Error(
    "challenges.shortlist_elsewhere", Conflict, "这个榜单的入围不在这里确定：{reason}"
)
SHORTLIST_FULL = Error("challenges.shortlist_full", Conflict, "入围名额（{places}）已满")
CHOOSE_APPLICATIONS = Error("challenges.choose_applications", Invalid, "请选择要入围的申请")
APPLICATION_NOT_FOR_CHALLENGE = Error(
    "challenges.application_not_for_challenge", Invalid, "申请 #{application_id} 不属于这个榜单"
)
