"""The errors of application scenarios: posting, editing and reading them."""

from __future__ import annotations

from mosu.core.errors import Conflict, Error, Forbidden, Invalid, NotFound

NO_SUCH_SCENARIO = Error("scenarios.no_such_scenario", NotFound, "应用场景 {scenario_id} 不存在")
ORGANISATION_REQUIRED = Error("scenarios.organisation_required", Invalid, "请选择需求方组织")
POST_NOT_ALLOWED = Error(
    "scenarios.post_not_allowed",
    Forbidden,
    "只有运营方和需求方本组织用户可以发布应用场景",
)
EDIT_OWN_SCENARIOS = Error("scenarios.edit_own_scenarios", Forbidden, "只能修改本组织的应用场景")
PUBLISHED_BY_CHALLENGE = Error(
    "scenarios.published_by_challenge", Invalid, "“已发榜”由发布榜单设置"
)
PUBLISHED_ONLY_CLOSES = Error(
    "scenarios.published_only_closes", Conflict, "已发榜的应用场景只能关闭"
)
BUDGET_INVERTED = Error("scenarios.budget_inverted", Invalid, "预算下限不能高于上限")
