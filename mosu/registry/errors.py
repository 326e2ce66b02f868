"""The errors of the registry (名录): organisations, models, filings, endpoints and the
registry's imports and exports, each with its code, its HTTP status and its message in
Chinese (English in the catalogue)."""

from __future__ import annotations

from mosu.core.errors import Conflict, Error, Forbidden, Invalid, NotFound

# ---------------------------------------------------------------- lookups

NO_SUCH_ORGANISATION = Error(
    "registry.no_such_organisation", NotFound, "组织 {organisation} 不存在"
)
NO_SUCH_MODEL = Error("registry.no_such_model", NotFound, "模型 {model} 不存在")
NO_SUCH_FILING = Error("registry.no_such_filing", NotFound, "备案记录 {filing} 不存在")
NO_SUCH_ENDPOINT = Error("registry.no_such_endpoint", NotFound, "接入点 {endpoint} 不存在")

# ---------------------------------------------------------------- organisations

ORGANISATION_NAME_TAKEN = Error(
    "registry.organisation_name_taken", Conflict, "组织名称“{name}”已存在"
)
CREDIT_CODE_TAKEN = Error(
    "registry.credit_code_taken", Conflict, "统一社会信用代码 {credit_code} 已被登记"
)
OPERATORS_CREATE_ORGANISATIONS = Error(
    "registry.operators_create_organisations", Forbidden, "只有运营方可以登记组织"
)
EDIT_OWN_ORGANISATION = Error("registry.edit_own_organisation", Forbidden, "只能修改本组织的资料")
OPERATORS_SET_STANDING = Error(
    "registry.operators_set_standing", Forbidden, "名称、信用代码、梯队与入驻信息由运营方维护"
)
OPERATORS_DELETE_ORGANISATIONS = Error(
    "registry.operators_delete_organisations", Forbidden, "只有运营方可以删除组织"
)
ORGANISATION_IN_USE = Error(
    "registry.organisation_in_use", Conflict, "该组织的模型被其他登记引用，不能删除"
)

# ---------------------------------------------------------------- models

MODEL_NAME_TAKEN = Error("registry.model_name_taken", Conflict, "本组织已有名为“{name}”的模型")
MODEL_OWN_BASE = Error("registry.model_own_base", Invalid, "模型不能以自身为基座")
NO_SUCH_BASE_MODEL = Error("registry.no_such_base_model", Invalid, "基座模型 {model} 不存在")
BASE_MODEL_CYCLE = Error("registry.base_model_cycle", Invalid, "基座模型不能形成循环")
BASE_MODEL_EITHER = Error(
    "registry.base_model_either", Invalid, "基座模型请二选一：选择已登记模型，或填写名称"
)
REGISTER_OWN_MODELS = Error("registry.register_own_models", Forbidden, "只能为本组织登记模型")
CHANGE_OWN_MODELS = Error("registry.change_own_models", Forbidden, "只能修改本组织的模型")
DELETE_OWN_MODELS = Error("registry.delete_own_models", Forbidden, "只能删除本组织的模型")
MODEL_IN_USE = Error("registry.model_in_use", Conflict, "有登记备案以该模型为基础，不能删除")

# ---------------------------------------------------------------- filings

BEIAN_WITHOUT_BASE = Error(
    "registry.beian_without_base", Invalid, "备案不填写所依托模型；登记才需要"
)
DENGJI_NEEDS_BASE = Error("registry.dengji_needs_base", Invalid, "登记须指明所依托的已备案模型")
DENGJI_OWN_BASE = Error("registry.dengji_own_base", Invalid, "登记不能以自身为依托模型")
BASE_NOT_FILED = Error(
    "registry.base_not_filed", Invalid, "模型 {model} 没有有效的备案，不能作为登记的依托"
)
FILE_OWN_MODELS = Error("registry.file_own_models", Forbidden, "只能为本组织的模型登记备案")
FILING_DATE_MISMATCH = Error(
    "registry.filing_date_mismatch", Invalid, "日期 {filed_on} 与备案号中的日期 {number_date} 不符"
)
FILING_NUMBER_TAKEN = Error("registry.filing_number_taken", Conflict, "备案号 {number} 已存在")
OPERATORS_SET_FILING_STATUS = Error(
    "registry.operators_set_filing_status", Forbidden, "备案状态由运营方维护"
)
CHANGE_OWN_FILINGS = Error("registry.change_own_filings", Forbidden, "只能修改本组织的备案")
OPERATORS_DELETE_FILINGS = Error(
    "registry.operators_delete_filings", Forbidden, "只有运营方可以删除备案记录"
)

# ---------------------------------------------------------------- endpoints

REGISTER_OWN_ENDPOINTS = Error(
    "registry.register_own_endpoints", Forbidden, "只能为本组织登记接入点"
)
ENDPOINT_URL_REFUSED = Error(
    "registry.endpoint_url_refused", Invalid, "接入点地址不被允许：{reason}"
)
ENDPOINT_OWN_MODEL = Error("registry.endpoint_own_model", Invalid, "接入点只能关联本组织的模型")
ENDPOINT_NAME_TAKEN = Error(
    "registry.endpoint_name_taken", Conflict, "本组织已有名为“{name}”的接入点"
)
KEYS_UNREADABLE = Error(
    "registry.keys_unreadable",
    Invalid,
    "新旧密钥都无法解密接入点 {endpoints} 的密钥，未做任何修改",
)

# ---------------------------------------------------------------- imports, exports, figures

OPERATORS_IMPORT = Error("registry.operators_import", Forbidden, "只有运营方可以批量导入")
OPERATORS_EXPORT = Error("registry.operators_export", Forbidden, "只有运营方可以导出名录")
OPERATORS_SET_REGIONAL_TOTAL = Error(
    "registry.operators_set_regional_total", Forbidden, "只有运营方可以填写地区备案总数"
)
IMPORT_INVALID = Error("registry.import_invalid", Invalid, "未导入任何数据：发现 {count} 个问题")
UPLOAD_MULTIPART = Error(
    "registry.upload_multipart", Invalid, "请以 multipart/form-data 上传文件（字段名 file）"
)

MAY_NOT_BE_NULL = Error("registry.may_not_be_null", Invalid, "{fields} 不能为空")

# identifiers (raised by the models' validators, shown in the reader's language)
CREDIT_CODE_LENGTH = Error(
    "registry.credit_code_length", Invalid, "统一社会信用代码应为 18 位，实为 {length} 位"
)
CREDIT_CODE_CHARACTERS = Error(
    "registry.credit_code_characters",
    Invalid,
    "统一社会信用代码含非法字符（不得含 I、O、S、V、Z 或小写字母）",
)
CREDIT_CODE_CHECK = Error("registry.credit_code_check", Invalid, "统一社会信用代码校验位错误")
FILING_NUMBER_FORM = Error(
    "registry.filing_number_form",
    Invalid,
    "备案号格式应为 地区拼音-名称-日期，例如 Shanghai-Abab-20230821",
)
FILING_NUMBER_REGION = Error(
    "registry.filing_number_region", Invalid, "备案号中的地区 {region} 不是省级行政区拼音"
)
FILING_NUMBER_DATE = Error("registry.filing_number_date", Invalid, "备案号中的日期 {date} 无效")
