"""The errors of the web pages themselves: what a form or a page checks before any rule does."""

from __future__ import annotations

from mosu.core.errors import Error, Forbidden, Invalid, NotFound

FORM_EXPIRED = Error("web.form_expired", Forbidden, "登录表单已过期，请重新登录")
UNSUPPORTED_LANGUAGE = Error("web.unsupported_language", NotFound, "不支持的语言 {code}")
INVALID_FORM = Error("web.invalid_form", Invalid, "表单有误：{problems}")
"""A form the page refuses as a whole; ``problems`` are its messages, in the reader's language."""
NEW_PASSWORDS_DIFFER = Error("web.new_passwords_differ", Invalid, "两次输入的新密码不一致")
BAD_EMAIL = Error("web.bad_email", Invalid, "邮箱地址格式不正确")
CHOOSE_FILE = Error("web.choose_file", Invalid, "请选择文件")
UPLOAD_EXPIRED = Error("web.upload_expired", Invalid, "上传已过期，请重新选择文件")
CHOOSE_ORGANISATION = Error("web.choose_organisation", Invalid, "请选择组织")
CHOOSE_VOTE = Error("web.choose_vote", Invalid, "请选择 A、B、平局或都不好")
GRADE_EVERY_CRITERION = Error("web.grade_every_criterion", Invalid, "请为每个评分维度打分")

# who may open a form
SUPPLIERS_ONLY = Error("web.suppliers_only", Forbidden, "只有供给方可以发布供给")

# review panels

# the race's stage form
BAD_OPENS_AT = Error("web.bad_opens_at", Invalid, "开始时间格式不对，应为 YYYY-MM-DD HH:MM")
BAD_CLOSES_AT = Error("web.bad_closes_at", Invalid, "截止时间格式不对，应为 YYYY-MM-DD HH:MM")
NOT_A_NUMBER = Error("web.not_a_number", Invalid, "{name} 应为数字")
TASK_NOT_YAML = Error("web.task_not_yaml", Invalid, "任务定义不是合法的 YAML：{reason}")
TASK_NOT_MAPPING = Error("web.task_not_mapping", Invalid, "任务定义应为 YAML 映射")
RULE_NOT_YAML = Error("web.rule_not_yaml", Invalid, "计分规则不是合法的 YAML：{reason}")
RULE_NOT_MAPPING = Error("web.rule_not_mapping", Invalid, "计分规则应为 YAML 映射")
CHOOSE_STAGE_OPTIONS = Error(
    "web.choose_stage_options", Invalid, "请选择数据集版本、提交方式和淘汰规则"
)
