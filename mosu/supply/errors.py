"""The errors of supply and vouchers (要素供给与补贴券): offers, programmes, applications and
their decisions, each with its code, its HTTP status and its message in Chinese (English in
the catalogue)."""

from __future__ import annotations

from mosu.core.errors import Conflict, Error, Forbidden, Invalid, NotFound

# ---------------------------------------------------------------- offers

NO_SUCH_ORGANISATION = Error("supply.no_such_organisation", Invalid, "组织不存在")
NAME_SUPPLIER = Error("supply.name_supplier", Invalid, "请指定供给方组织")
OWN_OFFERS_ONLY = Error("supply.own_offers_only", Forbidden, "只能管理本组织的供给")
NO_SUCH_POOL = Error("supply.no_such_pool", NotFound, "算力池不存在")
NO_SUCH_CORPUS_OFFER = Error("supply.no_such_corpus_offer", NotFound, "语料供给不存在")
NO_SUCH_MODEL_SERVICE = Error("supply.no_such_model_service", NotFound, "模型服务不存在")
PRICE_REQUIRED = Error("supply.price_required", Invalid, "价格不能为空")
AVAILABILITY_ENDS_BEFORE_START = Error(
    "supply.availability_ends_before_start", Invalid, "可用结束日期早于开始日期"
)
NO_SUCH_DATASET = Error("supply.no_such_dataset", Invalid, "数据集不存在")
OWN_DATASETS_ONLY = Error("supply.own_datasets_only", Invalid, "只能出售本组织提供的数据集")
OWN_MODELS_ONLY = Error("supply.own_models_only", Invalid, "只能出售本组织登记的模型")
USAGE_NOT_YOURS = Error("supply.usage_not_yours", Forbidden, "无权记录该算力池的用量")
USAGE_HIDDEN = Error("supply.usage_hidden", Forbidden, "无权查看该算力池的用量")
CARD_HOURS = Error("supply.card_hours", Invalid, "卡时须为正数，精确到秒")
POOL_UNAVAILABLE = Error("supply.pool_unavailable", Invalid, "算力池在该日期不可用")
USAGE_REFERENCE = Error("supply.usage_reference", Invalid, "请给出用量的来源")

# ---------------------------------------------------------------- programmes and firm facts

OPERATORS_CREATE_PROGRAMMES = Error(
    "supply.operators_create_programmes", Forbidden, "只有运营方可以设立券种项目"
)
OPERATORS_CHANGE_PROGRAMMES = Error(
    "supply.operators_change_programmes", Forbidden, "只有运营方可以修改券种项目"
)
PROGRAMME_NAME_TAKEN = Error("supply.programme_name_taken", Conflict, "已有名为“{name}”的项目")
NO_SUCH_PROGRAMME = Error("supply.no_such_programme", NotFound, "券种项目不存在")
BUDGET_BELOW_COMMITTED = Error(
    "supply.budget_below_committed", Conflict, "预算不能低于已批准的金额"
)
PERIOD_ENDS_BEFORE_START = Error("supply.period_ends_before_start", Invalid, "结束日期早于开始日期")
PROFILE_HIDDEN = Error("supply.profile_hidden", Forbidden, "无权查看")
OPERATORS_KEEP_FIRM_FACTS = Error(
    "supply.operators_keep_firm_facts", Forbidden, "企业规模与成立日期由运营方核定"
)
OPERATORS_KEEP_RELATIONS = Error(
    "supply.operators_keep_relations", Forbidden, "关联关系由运营方维护"
)
ALREADY_RELATED = Error("supply.already_related", Conflict, "这两个组织已登记为关联方")
NO_SUCH_RELATION = Error("supply.no_such_relation", NotFound, "关联关系不存在")

# ---------------------------------------------------------------- applications

MEMBERS_APPLY = Error("supply.members_apply", Forbidden, "只有组织成员可以申请")
NAME_APPLICANT = Error("supply.name_applicant", Invalid, "请指定申请组织")
APPLY_FOR_OWN = Error("supply.apply_for_own", Forbidden, "只能为本组织申请")
PROGRAMME_CLOSED = Error("supply.programme_closed", Invalid, "该项目已停止受理")
OFFER_MISMATCH = Error("supply.offer_mismatch", Invalid, "所选供给不属于该卖方或与券种不符")
CONTRACT_NUMBER_EMPTY = Error("supply.contract_number_empty", Invalid, "合同编号不能只有分隔符")
DUPLICATE_CONTRACT = Error(
    "supply.duplicate_contract", Conflict, "该合同已在本项目申请过（申请 #{application}）"
)
NO_SUCH_APPLICATION = Error("supply.no_such_application", NotFound, "申请不存在")
SIGNED_OUTSIDE_PERIOD = Error(
    "supply.signed_outside_period",
    Invalid,
    "合同签订日期 {signed_on} 不在项目期 {starts_on} 至 {ends_on} 内",
)
SERVICE_OUTSIDE_PERIOD = Error(
    "supply.service_outside_period",
    Invalid,
    "服务期 {service_starts_on} 至 {service_ends_on} 不在项目期 {starts_on} 至 {ends_on} 内",
)
ATTACH_OWN_ONLY = Error("supply.attach_own_only", Forbidden, "只能为本组织的申请上传附件")
ATTACHMENT_FIXED = Error("supply.attachment_fixed", Conflict, "审核后不能再更换附件")
NO_ATTACHMENT = Error("supply.no_attachment", NotFound, "该申请没有附件")
PDF_MULTIPART = Error(
    "supply.pdf_multipart", Invalid, "请以 multipart/form-data 上传 PDF（字段名 file）"
)
PDF_MISSING = Error("supply.pdf_missing", Invalid, "请上传文件（字段名 file）")

# ---------------------------------------------------------------- decisions and the ledger

NOT_IN_STATE = Error(
    "supply.application_not_in_state", Conflict, "申请当前状态不允许此操作（须为 {status}）"
)
OPERATORS_REVIEW = Error("supply.operators_review", Forbidden, "只有运营方可以审核")
PARTY_LEFT = Error("supply.party_left_registry", Conflict, "申请方或卖方已不在名录中")
OVER_BUDGET = Error("supply.over_budget", Conflict, "超出项目剩余预算（budget）")
REJECTION_NEEDS_REASON = Error("supply.rejection_needs_reason", Invalid, "驳回须写明理由")
NOT_ELIGIBLE = Error("supply.not_eligible", Invalid, "按规则不符合条件（{rule}）：{reason}")
NOTHING_TO_GRANT = Error("supply.nothing_to_grant", Invalid, "{reason}：不予补贴请驳回")
APPROVE_POSITIVE = Error("supply.approve_positive", Invalid, "批准金额须大于 0；不予补贴请驳回")
ABOVE_SUBSIDY = Error("supply.above_subsidy", Invalid, "批准金额超过按规则计算的补贴 {computed} 元")
ABOVE_CAPPED_SUBSIDY = Error(
    "supply.above_capped_subsidy",
    Invalid,
    "批准金额超过按规则计算的补贴 {computed} 元（受{cap}限制）",
)
REDUCTION_NEEDS_REASON = Error("supply.reduction_needs_reason", Invalid, "核减须写明理由")
CLAIM_FOR_OWN = Error("supply.claim_for_own", Forbidden, "只能为本组织申请兑付")
DELIVERY_DATE = Error("supply.delivery_date", Invalid, "交付日期须在服务开始之后、今天之前")
OPERATORS_RECORD_PAYOUTS = Error(
    "supply.operators_record_payouts", Forbidden, "只有运营方可以登记兑付"
)
PAYOUT_ABOVE_APPROVED = Error("supply.payout_above_approved", Invalid, "兑付金额超过批准金额")
LEDGER_MISMATCH = Error("supply.ledger_mismatch", Conflict, "台账不一致")
LEDGER_FOR_OPERATORS = Error("supply.ledger_for_operators", Forbidden, "台账只对运营方开放")
REPORTS_FOR_OPERATORS = Error("supply.reports_for_operators", Forbidden, "报表只对运营方开放")
