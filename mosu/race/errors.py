"""Errors of the race (赛马): setting up stages, submitting, closing a stage, naming the
winners, and reading boards, inputs and reports."""

from __future__ import annotations

from mosu.core.errors import Conflict, Error, Forbidden, Invalid, NotFound

# who may do what
ONLY_OPERATORS_SET_UP = Error("race.only_operators_set_up", Forbidden, "只有运营方可以设置赛马阶段")
ONLY_OPERATORS_ADD_BASELINES = Error(
    "race.only_operators_add_baselines", Forbidden, "只有运营方可以添加基线"
)
ONLY_OPERATORS_CLOSE = Error("race.only_operators_close", Forbidden, "只有运营方可以结束阶段")
ONLY_OPERATORS_RERUN = Error("race.only_operators_rerun", Forbidden, "只有运营方可以重跑")
ONLY_TEAM_OR_OPERATOR_CANCELS = Error(
    "race.only_team_or_operator_cancels", Forbidden, "只有提交方或运营方可以取消"
)
ONLY_TEAM_CHOOSES = Error("race.only_team_chooses", Forbidden, "只有参赛队自己可以选择")
ONLY_ENTRIES_DOWNLOAD = Error("race.only_entries_download", Forbidden, "只有参赛队可以下载测试输入")
REPORT_FOR_OPERATORS_AND_ISSUER = Error(
    "race.report_for_operators_and_issuer", Forbidden, "完整报告只对运营方和发榜方开放"
)

# what cannot be found
NO_SUCH_STAGE = Error("race.no_such_stage", NotFound, "没有这个阶段")
NO_SUCH_ENTRY = Error("race.no_such_entry", NotFound, "没有这个参赛队")
NO_ENTRY_HERE = Error("race.no_entry_here", NotFound, "你的机构没有参加这个赛马")
NO_SUCH_SUBMISSION = Error("race.no_such_submission", NotFound, "没有这个提交")
NO_SUCH_ENDPOINT = Error("race.no_such_endpoint", NotFound, "没有这个端点")
NO_PREDICTIONS_FILE = Error("race.no_predictions_file", NotFound, "这个提交没有预测文件")
NO_SUCH_BOARD = Error("race.no_such_board", NotFound, "榜单只有 public 和 final")
FINAL_AT_CLOSE = Error("race.final_at_close", NotFound, "最终排名在阶段结束后公布")
NO_TEST_INPUTS = Error("race.no_test_inputs", NotFound, "本阶段由平台调用端点，不发布测试输入")

# setting up a stage, its task and its rules
NO_SUCH_VERSION = Error("race.no_such_version", Invalid, "没有这个数据集版本")
CHALLENGE_OVER = Error("race.challenge_over", Conflict, "榜单已结束")
NO_MORE_STAGES = Error("race.no_more_stages", Conflict, "榜单已结束，不能再加阶段")
TIMES_NEED_ZONE = Error("race.times_need_zone", Invalid, "开始和截止时间需要带时区")
CLOSES_BEFORE_OPENING = Error("race.closes_before_opening", Invalid, "截止时间须晚于开始时间")
PUBLIC_FRACTION = Error("race.public_fraction", Invalid, "公开部分比例须在 0.05 到 0.95 之间")
LIMITS = Error("race.limits", Invalid, "提交次数限制不合理")
TOP_K_WHOLE = Error("race.top_k_whole", Invalid, "“前 k 名晋级”的 k 须为正整数")
MIN_COVERAGE = Error("race.min_coverage", Invalid, "最低覆盖率须在 0 到 1 之间")
STAGE_NEEDS_NAME = Error("race.stage_needs_name", Invalid, "阶段名称不能为空")
OPENS_BEFORE_PREVIOUS_CLOSES = Error(
    "race.opens_before_previous_closes", Invalid, "阶段须在上一阶段截止之后开始"
)
OPENS_BEFORE_WINDOW = Error(
    "race.opens_before_window",
    Invalid,
    "阶段开始日期 {opens} 早于榜单有效期开始 {valid_from}：请把开始时间改到 {valid_from} 或以后",
)
CLOSES_AFTER_WINDOW = Error(
    "race.closes_after_window",
    Invalid,
    "阶段截止日期 {closes} 晚于榜单有效期截止 {valid_until}："
    "请把截止时间改到 {valid_until} 或以前，或先延长榜单有效期",
)
INVALID_RULE = Error("race.invalid_rule", Invalid, "计分规则不合法：{problems}")
INVALID_PERF = Error("race.invalid_perf", Invalid, "性能压测设置有误：{problems}")
PERF_TAKES_ENDPOINTS = Error("race.perf_takes_endpoints", Invalid, "性能压测阶段只接受模型端点提交")
UNKNOWN_IMAGE_DELIVERY = Error(
    "race.unknown_image_delivery",
    Invalid,
    "图片传送方式“{value}”无效，可选 base64 或 signed_url",
)
TASK_HAS_DATA_FIELDS = Error(
    "race.task_has_data_fields", Invalid, "任务定义不应包含 {fields}：数据来自所选数据集版本"
)
NO_TEST_ROWS = Error("race.no_test_rows", Invalid, "数据集版本没有测试集（test）行")
INVALID_TASK = Error("race.invalid_task", Invalid, "阶段任务不合法：{problem}")
VERSION_GONE = Error("race.version_gone", Invalid, "阶段的数据集版本不存在")
TEST_SPLIT_TOO_SMALL = Error(
    "race.test_split_too_small", Invalid, "测试集太小，无法分成公开与隐藏两部分"
)
WRITE_TEMPLATE = Error("race.write_template", Invalid, "请填写提示词模板")
CHOOSE_SCORER = Error("race.choose_scorer", Invalid, "请至少选择一个评分指标")
NOTHING_TO_PREVIEW = Error(
    "race.nothing_to_preview", Invalid, "该版本没有开发集或训练集，无法预览（测试集不外示）"
)
PROMPT_DOES_NOT_RENDER = Error("race.prompt_does_not_render", Invalid, "无法渲染提示词：{problem}")

# entries and baselines
ENTRY_NEEDS_NAME = Error("race.entry_needs_name", Invalid, "参赛名称不能为空")
ENTRY_NAME_TAKEN = Error("race.entry_name_taken", Conflict, "参赛名称“{name}”已被使用")
UNKNOWN_BASELINE = Error("race.unknown_baseline", Invalid, "未知基线“{baseline}”，可选 {choices}")

# starting the race, closing a stage, naming the winners
NO_STAGE_YET = Error(
    "race.no_stage_yet",
    Conflict,
    "还没有赛马阶段：请在赛马页面的“添加赛马阶段”中添加阶段后再开始"
    "（/challenges/{challenge_id}/race#add-stage）",
)
NO_ENTRY_YET = Error(
    "race.no_entry_yet", Conflict, "还没有参赛队：请先在审核通过的揭榜申请页面点击“确定入围”"
)
NOT_RACING = Error("race.not_racing", Conflict, "榜单不在赛马阶段")
STAGE_CLOSED = Error("race.stage_closed", Conflict, "阶段已结束")
EARLY_CLOSE_NEEDS_REASON = Error(
    "race.early_close_needs_reason", Invalid, "提前结束阶段需要填写原因"
)
CLOSE_EARLIER_STAGES_FIRST = Error(
    "race.close_earlier_stages_first", Conflict, "请先结束前面的阶段"
)
SUBMISSIONS_RUNNING = Error(
    "race.submissions_running", Conflict, "还有 {count} 个提交在评测，完成后再结束"
)
DECIDED_ELSEWHERE = Error(
    "race.decided_elsewhere", Conflict, "这个榜单的揭榜单位不在赛马页面确定：{reason}"
)
CLOSE_EVERY_STAGE = Error(
    "race.close_every_stage",
    Conflict,
    "还有未结束的阶段：请在赛马页面（/challenges/{challenge_id}/race）逐个结束阶段后再确定揭榜单位",
)
CHOOSE_WINNERS = Error("race.choose_winners", Invalid, "请选择获胜者")
TOO_MANY_WINNERS = Error("race.too_many_winners", Invalid, "最多 {places} 名获胜者")
ENTRY_NOT_RACING = Error("race.entry_not_racing", Conflict, "{entry} 已不在赛马中")
BASELINE_CANNOT_WIN = Error("race.baseline_cannot_win", Invalid, "基线不能获胜")

# submitting, and choosing what counts
STAGE_NOT_OPEN = Error("race.stage_not_open", Conflict, "本阶段尚未开始")
STAGE_PAST_CLOSE = Error("race.stage_past_close", Conflict, "本阶段已截止")
ENTRY_CUT = Error("race.entry_cut", Conflict, "该参赛队已被淘汰：{reason}")
ENTRY_FINISHED = Error("race.entry_finished", Conflict, "该参赛队已结束：{reason}")
FAILURE_BUDGET_SPENT = Error(
    "race.failure_budget_spent",
    Conflict,
    "本阶段已有 {failed} 次提交失败（上限 {limit} 次），不能再提交；请检查接入点",
)
TOTAL_LIMIT_REACHED = Error(
    "race.total_limit_reached", Conflict, "本阶段提交次数已用完（共 {limit} 次）"
)
DAILY_LIMIT_REACHED = Error(
    "race.daily_limit_reached", Conflict, "今日提交次数已用完（每日 {limit} 次），{resets_at} 重置"
)
BASELINE_TAKES_NO_INPUT = Error(
    "race.baseline_takes_no_input", Invalid, "基线由平台运行，不需要端点或预测文件"
)
CHOOSE_ENDPOINT = Error("race.choose_endpoint", Invalid, "请选择模型端点")
UPLOAD_PREDICTIONS = Error("race.upload_predictions", Invalid, "请上传预测文件")
PREDICTIONS_PROBLEMS = Error(
    "race.predictions_problems", Invalid, "预测文件有 {count} 处问题，未提交"
)
INVALID_SUBMISSION = Error("race.invalid_submission", Invalid, "提交不合法")
SUBMISSION_FINISHED = Error("race.submission_finished", Conflict, "提交已结束")
NO_RERUN_AFTER_CLOSE = Error("race.no_rerun_after_close", Conflict, "阶段已结束，不能重跑")
NO_JOB = Error("race.no_job", Conflict, "提交没有任务")
TOO_MANY_SELECTED = Error("race.too_many_selected", Invalid, "最多选择 {count} 个提交")
ONLY_FINISHED_SELECTED = Error(
    "race.only_finished_selected", Invalid, "提交 {submission_id} 未成功完成，不能选择"
)
INPUTS_BEFORE_OPENING = Error("race.inputs_before_opening", Forbidden, "阶段尚未开始")

# the jobs that run submissions and send reminders
NEEDS_ENGINE = Error("race.needs_engine", Invalid, "这个任务需要数据库引擎")
SUBMISSION_GONE = Error("race.submission_gone", Invalid, "提交 {submission_id} 不存在")
PREDICTIONS_FILE_MISSING = Error("race.predictions_file_missing", Invalid, "提交缺少预测文件")
ENDPOINT_DELETED = Error("race.endpoint_deleted", Invalid, "提交的模型端点已被删除")
