"""Chinese names of a corpus's words of art as the pages show them (splits, how a version was
split, import formats, what became of flagged rows); the English is in the catalogue. The words themselves stay in URLs,
files and the API."""

from __future__ import annotations

from mosu.i18n import N_

TERMS = {
    "train": N_("训练集"),
    "dev": N_("开发集"),
    "test": N_("测试集"),
    "platform": N_("平台划分"),
    "data": N_("数据自带划分"),
    "data+platform": N_("数据自带划分，其余平台划分"),
    "auto": N_("自动识别"),
    "images": N_("图片目录"),
    "refuse": N_("有问题则不写入"),
    "drop": N_("丢弃有问题的行"),
    "keep": N_("保留有问题的行"),
    # what is wrong with a flagged row (ProblemKind)
    "missing": N_("缺少字段"),
    "empty": N_("内容为空"),
    "duplicate": N_("重复"),
    "near_duplicate": N_("近似重复"),
    "duplicate_id": N_("编号重复"),
    "conflicting_label": N_("标注冲突"),
    "bad_date": N_("日期无效"),
    "unknown_label": N_("未知标签"),
    "too_long": N_("内容过长"),
    "bad_split": N_("划分无效"),
    "bad_image": N_("图片无效"),
    "duplicate_image": N_("图片重复"),
    "near_duplicate_image": N_("图片近似重复"),
}
"""A split, a way of splitting, an import format or a choice for flagged rows, by its word; other words (``csv``) are
shown as they are."""
