"""English for the voucher application form (补贴申请表): offer choices and the subsidy
preview."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "先选择券种项目": "Choose a programme first",
    "先选择卖方": "Choose the seller first",
    "该卖方没有此券种的供给": "This seller has no offer of this kind",
    "选择券种项目、卖方，填写合同金额与日期后显示测算。": "Choose the programme and the seller, and fill in the amount and dates, to see the estimate.",
    "按项目规则与当前用量测算（合同金额 × 比例，受合同、年度与剩余预算上限限制）；审核时按当时的用量重新核算。": "Computed by the programme's rules from what has been used so far (contract amount × share, within the per-contract, yearly and remaining-budget caps); the review computes it again from the figures of that day.",
    "预览补贴": "Preview the subsidy",
}
