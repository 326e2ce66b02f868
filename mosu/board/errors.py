"""The errors of the board: case studies and interest in scenarios."""

from __future__ import annotations

from mosu.core.errors import Conflict, Error, Forbidden, Invalid, NotFound

ADD_OWN_CASE_STUDIES = Error("board.add_own_case_studies", Forbidden, "只能为本组织添加落地案例")
EDIT_OWN_CASE_STUDIES = Error("board.edit_own_case_studies", Forbidden, "只能修改本组织的落地案例")
DELETE_OWN_CASE_STUDIES = Error(
    "board.delete_own_case_studies", Forbidden, "只能删除本组织的落地案例"
)
NO_SUCH_CASE_STUDY = Error("board.no_such_case_study", NotFound, "落地案例 {case_study_id} 不存在")
MARK_OWN_INTEREST = Error("board.mark_own_interest", Forbidden, "只能以本组织的名义表达对接意向")
WITHDRAW_OWN_INTEREST = Error(
    "board.withdraw_own_interest", Forbidden, "只能以本组织的名义撤回对接意向"
)
READ_OWN_INTEREST = Error("board.read_own_interest", Forbidden, "只能查看本组织的对接意向")
INTEREST_IN_OWN_SCENARIO = Error(
    "board.interest_in_own_scenario", Invalid, "不能对本组织发布的场景表达意向"
)
SCENARIO_NOT_OPEN = Error("board.scenario_not_open", Conflict, "该场景不在对接中")
INTEREST_ALREADY_MARKED = Error("board.interest_already_marked", Conflict, "已表达过对接意向")
NO_SUCH_INTEREST = Error("board.no_such_interest", NotFound, "没有该对接意向")
