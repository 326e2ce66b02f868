"""The errors of expert review: the pool, rubrics, panels, scoring, the shortlist, the
combined decision and the experts' grading of race answers."""

from __future__ import annotations

from mosu.core.errors import Conflict, Error, Forbidden, Invalid, NotFound

# ---------------------------------------------------------------- the expert pool

MANAGE_POOL_OPERATORS_ONLY = Error(
    "review.manage_pool_operators_only", Forbidden, "只有运营方可以管理专家库"
)
READ_POOL_OPERATORS_ONLY = Error(
    "review.read_pool_operators_only", Forbidden, "只有运营方可以查看专家库"
)
IMPORT_POOL_OPERATORS_ONLY = Error(
    "review.import_pool_operators_only", Forbidden, "只有运营方可以导入专家库"
)
EXPORT_POOL_OPERATORS_ONLY = Error(
    "review.export_pool_operators_only", Forbidden, "只有运营方可以导出专家库"
)
FIELD_TOO_LONG = Error(
    "review.field_too_long", Invalid, "专业领域“{field}…”过长，最多 {limit} 个字符"
)
TOO_MANY_FIELDS = Error("review.too_many_fields", Invalid, "专业领域最多 {limit} 个")
NO_SUCH_EXPERT = Error("review.no_such_expert", NotFound, "专家 {user_id} 不存在")
UNKNOWN_AFFILIATION = Error(
    "review.unknown_affiliation", Invalid, "任职单位：组织 {organisation_id} 未登记"
)
UNKNOWN_CONFLICT_ORGANISATION = Error(
    "review.unknown_conflict_organisation", Invalid, "利益冲突单位：组织 {organisation_id} 未登记"
)
POOL_SET_BY_OPERATORS = Error("review.pool_set_by_operators", Forbidden, "是否在库由运营方决定")
AFFILIATION_SET_BY_OPERATORS = Error(
    "review.affiliation_set_by_operators", Forbidden, "任职单位由运营方登记"
)
TITLE_TOO_LONG = Error("review.title_too_long", Invalid, "职称最多 {limit} 个字符")
USER_NOT_EXPERT = Error("review.user_not_expert", Invalid, "用户“{username}”不是专家")
ALREADY_IN_POOL = Error("review.already_in_pool", Conflict, "专家“{username}”已在专家库中")

# ---------------------------------------------------------------- rubric

SET_RUBRIC_OPERATORS_ONLY = Error(
    "review.set_rubric_operators_only", Forbidden, "只有运营方可以设置评审细则"
)
RUBRIC_FIXED = Error("review.rubric_fixed", Conflict, "榜单已发布，评审细则已固定，不能再修改")
NO_RUBRIC = Error("review.no_rubric", NotFound, "榜单 {challenge_id} 尚无评审细则")
RUBRIC_MISSING = Error("review.rubric_missing", Conflict, "评审细则缺失")

# ---------------------------------------------------------------- panels

NO_SUCH_PANEL = Error("review.no_such_panel", NotFound, "评审专家组 {panel_id} 不存在")
NO_PANEL_DRAWN = Error("review.no_panel_drawn", NotFound, "该榜单尚未抽取评审专家组")
NO_REVIEW_PANEL = Error("review.no_review_panel", NotFound, "该榜单没有评审专家组")
DRAW_OPERATORS_ONLY = Error("review.draw_operators_only", Forbidden, "只有运营方可以抽取评审专家")
DRAW_NOT_NOW = Error("review.draw_not_now", Conflict, "榜单发布后、入围评审结束前才能抽取评审专家")
RUBRIC_FIRST = Error("review.rubric_first", Conflict, "请先发布评审细则")
PANEL_EXISTS = Error("review.panel_exists", Conflict, "该榜单已抽取评审专家组")
PANEL_TOO_SMALL = Error("review.panel_too_small", Invalid, "专家人数至少为 1")
SEED_OUT_OF_RANGE = Error("review.seed_out_of_range", Invalid, "随机种子超出范围")
TOO_FEW_ELIGIBLE = Error(
    "review.too_few_eligible", Invalid, "符合条件的专家只有 {eligible} 位，少于所需的 {size} 位"
)
PANEL_CLOSED = Error("review.panel_closed", Conflict, "评审已结束")
PANEL_NOT_CLOSED = Error("review.panel_not_closed", Conflict, "评审尚未结束")
NOT_ON_PANEL = Error("review.not_on_panel", Forbidden, "您不是该评审专家组成员")
YOU_RECUSED = Error("review.you_recused", Conflict, "您已回避")
CONFIRM_NOT_YET = Error(
    "review.confirm_not_yet", Conflict, "申报截止、申请单位确定后才能确认无利益冲突"
)
CONFIRM_FIRST = Error("review.confirm_first", Conflict, "请先确认无利益冲突")
CONFLICT_OF_INTEREST = Error(
    "review.conflict_of_interest", Conflict, "存在利益冲突，请回避：{reason}"
)
RECUSAL_NEEDS_EXPERT = Error("review.recusal_needs_expert", Invalid, "请指明回避的专家")
RECUSE_ONLY_SELF = Error("review.recuse_only_self", Forbidden, "专家只能为自己申请回避")
RECUSAL_NOT_ALLOWED = Error("review.recusal_not_allowed", Forbidden, "无权办理回避")
EXPERT_NOT_ON_PANEL = Error("review.expert_not_on_panel", Forbidden, "该专家不是评审专家组成员")
ALREADY_RECUSED = Error("review.already_recused", Conflict, "已回避")
RECUSAL_NEEDS_REASON = Error("review.recusal_needs_reason", Invalid, "回避须说明原因")
DEADLINE_OPERATORS_ONLY = Error(
    "review.deadline_operators_only", Forbidden, "只有运营方可以设置截止时间"
)
REMINDERS_NEED_ENGINE = Error("review.reminders_need_engine", Invalid, "评审提醒任务需要数据库引擎")

# ---------------------------------------------------------------- scoring

SCORE_EVERY_CRITERION = Error(
    "review.score_every_criterion",
    Invalid,
    "每个评审项都须评分，且只能对评审细则中的项评分",
)
SCORE_NOT_NUMBER = Error("review.score_not_number", Invalid, "{key} 的分值须为数字")
SCORE_OUT_OF_RANGE = Error(
    "review.score_out_of_range", Invalid, "{key} 的分值须在 {low}–{high} 之间"
)
SCORE_IN_HALF_POINTS = Error("review.score_in_half_points", Invalid, "{key} 的分值最小单位为 0.5")
PAST_DEADLINE = Error("review.past_deadline", Conflict, "评审已过截止时间")
NOT_UNDER_REVIEW = Error("review.not_under_review", NotFound, "评审材料 {application_id} 不存在")
NO_SUCH_PROPOSAL = Error("review.no_such_proposal", NotFound, "评审材料不存在")
COMMENT_TOO_SHORT = Error("review.comment_too_short", Invalid, "评审意见至少 {n} 个字")
CLOSE_PANEL_OPERATORS_ONLY = Error(
    "review.close_panel_operators_only", Forbidden, "只有运营方可以结束评审"
)
SCORES_MISSING = Error("review.scores_missing", Conflict, "尚有 {left} 份评分未提交")
FORCED_CLOSE_NEEDS_REASON = Error(
    "review.forced_close_needs_reason", Invalid, "强制结束评审须说明原因"
)
RESULTS_AFTER_CLOSE = Error("review.results_after_close", Forbidden, "评审结束后公布评审结果")

# ---------------------------------------------------------------- shortlist and decision

NO_SUCH_CHALLENGE = Error("review.no_such_challenge", NotFound, "榜单 {challenge_id} 不存在")
SHORTLIST_OPERATORS_ONLY = Error(
    "review.shortlist_operators_only", Forbidden, "只有运营方可以确定入围"
)
APPLICATIONS_STILL_OPEN = Error(
    "review.applications_still_open", Conflict, "请先截止揭榜申请，再确定入围"
)
SHORTLIST_CONFIRMED = Error("review.shortlist_confirmed", Conflict, "入围名单已确认")
CHOOSE_SHORTLIST = Error("review.choose_shortlist", Invalid, "请选择入围申请")
TOO_MANY_SHORTLISTED = Error("review.too_many_shortlisted", Invalid, "入围名额为 {places} 个")
SHORTLIST_DEPARTURE_NEEDS_REASON = Error(
    "review.shortlist_departure_needs_reason",
    Invalid,
    "与评审建议不同的入围名单须说明理由（至少 {n} 个字）",
)
NO_SUCH_APPLICATION = Error(
    "review.no_such_application", NotFound, "揭榜申请 {application_id} 不存在"
)
NO_COMBINED_RULE = Error("review.no_combined_rule", NotFound, "该榜单没有综合评分规则")
COMBINED_AFTER_DECISION = Error(
    "review.combined_after_decision", Forbidden, "揭榜结果确定后公布综合评分"
)
DECIDE_OPERATORS_ONLY = Error(
    "review.decide_operators_only", Forbidden, "只有运营方可以确定揭榜单位"
)
RACE_NOT_FINISHED = Error(
    "review.race_not_finished", Conflict, "赛马的各阶段结束后才能确定揭榜单位"
)
COMBINED_DEPARTURE_NEEDS_REASON = Error(
    "review.combined_departure_needs_reason",
    Invalid,
    "与综合评分排序不同的选择须说明理由（至少 {n} 个字）",
)

# ---------------------------------------------------------------- grading race answers

NO_SUCH_GRADING_ROUND = Error("review.no_such_grading_round", NotFound, "没有这个专家复核轮次")
NO_SUCH_GRADING_ITEM = Error("review.no_such_grading_item", NotFound, "没有这个复核条目")
NO_SUCH_USERS = Error("review.no_such_users", Invalid, "没有这些用户：{usernames}")
NOT_EXPERTS = Error("review.not_experts", Invalid, "这些用户不是专家：{user_ids}")
NO_CONFIRMED_EXPERTS = Error(
    "review.no_confirmed_experts",
    Invalid,
    "榜单评审专家组没有已确认的专家，请指定复核专家",
)
CRITERION_KEYS_REPEAT = Error("review.criterion_keys_repeat", Invalid, "评分维度的 key 重复")
CRITERIA_NEEDED = Error("review.criteria_needed", Invalid, "本阶段没有评审模型，请给出评分维度")
TOO_FEW_SUBMISSIONS = Error("review.too_few_submissions", Invalid, "本阶段计分的提交不够")
NO_COMMON_SAMPLE = Error("review.no_common_sample", Invalid, "没有所有参赛队都回答了的样本")
OPEN_GRADING_OPERATORS_ONLY = Error(
    "review.open_grading_operators_only", Forbidden, "只有运营方可以发起专家复核"
)
CLOSE_GRADING_OPERATORS_ONLY = Error(
    "review.close_grading_operators_only", Forbidden, "只有运营方可以结束专家复核"
)
STAGE_NOT_CLOSED = Error("review.stage_not_closed", Conflict, "阶段结束后才能发起专家复核")
PERF_STAGE_NOT_GRADED = Error("review.perf_stage_not_graded", Invalid, "性能压测阶段没有可评的回答")
STAGE_NOT_GENERATIVE = Error(
    "review.stage_not_generative",
    Invalid,
    "专家复核只用于生成类阶段（评审模型、ROUGE-L、BLEU）",
)
SCALE_NOT_JUDGES = Error(
    "review.scale_not_judges", Invalid, "评分刻度须与评审模型相同（0–{scale}）"
)
GRADING_CLOSED = Error("review.grading_closed", Conflict, "复核已结束")
GRADE_EVERY_CRITERION = Error(
    "review.grade_every_criterion", Invalid, "请为每个评分维度打分：{keys}"
)
GRADE_OUT_OF_RANGE = Error("review.grade_out_of_range", Invalid, "分数须在 0 到 {scale} 之间")
CHOOSE_PREFERENCE = Error("review.choose_preference", Invalid, "请选择 A、B 或 平局")

WEIGHTS_SUM_TO_100 = Error(
    "review.weights_sum_to_100", Invalid, "各项权重之和须为 100（现为 {total}）"
)
