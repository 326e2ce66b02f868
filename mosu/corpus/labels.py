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
}
"""A split, a way of splitting, an import format or a choice for flagged rows, by its word; other words (``csv``) are
shown as they are."""
