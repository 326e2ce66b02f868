"""The errors of the corpus catalogue (语料目录): data sets, their versions and splits,
imports and images, each with its code, its HTTP status and its message in Chinese (English
in the catalogue)."""

from __future__ import annotations

from mosu.core.errors import Conflict, Error, Forbidden, Invalid, NotFound, Unauthenticated

# ---------------------------------------------------------------- the catalogue's cards

CREATE_NOT_ALLOWED = Error(
    "corpus.create_not_allowed", Forbidden, "只有运营方和有组织的供给方可以登记语料"
)
OWN_ORGANISATION_ONLY = Error("corpus.own_organisation_only", Forbidden, "只能为本组织登记语料")
NO_SUCH_ORGANISATION = Error("corpus.no_such_organisation", Invalid, "组织不存在")
DATASET_NAME_TAKEN = Error("corpus.dataset_name_taken", Conflict, "已有名为“{name}”的数据集")
NO_SUCH_DATASET = Error("corpus.no_such_dataset", NotFound, "数据集不存在")
MANAGE_OWN_DATASETS = Error("corpus.manage_own_datasets", Forbidden, "只能管理本组织的语料")
NO_SUCH_VERSION = Error("corpus.no_such_version", NotFound, "版本不存在")
OPERATORS_RECHECK = Error("corpus.operators_recheck", Forbidden, "只有运营方可以重新检测")

# ---------------------------------------------------------------- imports

UPLOAD_MULTIPART = Error(
    "corpus.upload_multipart", Invalid, "请以 multipart/form-data 上传文件（字段名 file）"
)
UPLOAD_MISSING = Error(
    "corpus.upload_missing", Invalid, "请上传文件（字段名 file，或 train、dev、test）"
)
OPTIONS_NOT_JSON = Error("corpus.options_not_json", Invalid, "options 不是有效的 JSON")
INVALID_OPTIONS = Error("corpus.invalid_options", Invalid, "导入选项不合法")
IMPORT_INVALID = Error("corpus.import_invalid", Invalid, "未写入任何数据：{reason}")

# ---------------------------------------------------------------- reading

NO_SUCH_SPLIT = Error("corpus.no_such_split", NotFound, "没有名为 {split} 的划分")
HIDDEN_SPLIT_SIGN_IN = Error(
    "corpus.hidden_split_sign_in", Unauthenticated, "隐藏划分需要运营方登录"
)
HIDDEN_SPLIT = Error("corpus.hidden_split", Forbidden, "测试集是隐藏的，只有运营方可以查看")
PUBLIC_SPLITS_ONLY = Error(
    "corpus.public_splits_only", Invalid, "只能使用公开划分（train、dev），不能使用 {splits}"
)
UNSUPPORTED_FORMAT = Error("corpus.unsupported_format", NotFound, "不支持的格式 {format}")
NO_SUCH_ROW = Error("corpus.no_such_row", NotFound, "没有这一行")
NO_IMAGE_FIELD = Error("corpus.no_image_field", NotFound, "这一行没有图片字段 {field}")
NO_SUCH_IMAGE = Error("corpus.no_such_image", NotFound, "图片不存在")
IMAGE_LINK_INVALID = Error("corpus.image_link_invalid", Forbidden, "图片链接无效或已过期")
