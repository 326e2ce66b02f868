"""The columns of the registry's bulk files (批量导入导出): headers as operators write them,
their aliases, how a cell is read and how a value is written back."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from mosu.registry.models import Layer, Modality, Tier
from mosu.registry.sheets import (
    CellError,
    as_text,
    choice,
    norm,
    parse_bool,
    parse_date,
    parse_number,
    split_list,
)

Kind = Literal["orgs", "models"]
Format = Literal["xlsx", "csv"]

IGNORED_HEADERS = frozenset({"序号", "编号", "备注", "说明", "no", "no.", "#", "id", "remark"})


# ---------------------------------------------------------------- columns

TIER_LABELS = {Tier.core: "北斗七星", Tier.cluster: "群星", Tier.other: "其他"}
LAYER_LABELS = {
    Layer.compute: "算力",
    Layer.corpus: "语料",
    Layer.model: "模型",
    Layer.application: "应用",
    Layer.service: "服务",
}
MODALITY_LABELS = {
    Modality.text: "文本",
    Modality.image: "图像",
    Modality.audio: "语音",
    Modality.video: "视频",
    Modality.multimodal: "多模态",
    Modality.code: "代码",
}


def _words(labels: dict[Any, str], **extra: str) -> dict[str, str]:
    words = {label: key.value for key, label in labels.items()}
    words.update({key.value: key.value for key in labels})
    return words | extra


_tier = choice(
    _words(TIER_LABELS, 核心="core", 北斗七星企业="core", 群星企业="cluster", 其它="other"),
    "梯队",
    "北斗七星、群星 或 其他",
)
_layer = choice(
    _words(LAYER_LABELS, 数据="corpus", data="corpus"), "产业链层级", "算力、语料、模型、应用、服务"
)
_modality = choice(
    _words(MODALITY_LABELS, 音频="audio", 图片="image", speech="audio"),
    "模态",
    "文本、图像、语音、视频、多模态 或 代码",
)


def _layers(value: object) -> list[str]:
    return [_layer(part) for part in split_list(value)]


def _parameters(value: object) -> float:
    try:
        return parse_number(value)
    except CellError as exc:
        raise CellError(f"{exc}（单位：十亿，例如 7 或 1.8）") from None


def _labelled(labels: dict[Any, str]) -> Callable[[object], object]:
    by_value = {key.value: label for key, label in labels.items()}

    def render(value: object) -> object:
        values = value if isinstance(value, list) else [value]
        return "、".join(by_value.get(str(getattr(v, "value", v)), str(v)) for v in values)

    return render


def _joined(value: object) -> object:
    return "、".join(cast(list[str], value))


def _yes_no(value: object) -> object:
    return "是" if value else "否"


@dataclass(frozen=True)
class Column:
    """A sheet column: its Chinese header, the other headers accepted for it, how a cell
    becomes a schema value (``parse``) and a stored value a cell (``render``)."""

    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    parse: Callable[[object], object] = as_text
    render: Callable[[object], object] = lambda value: value
    width: int = 16

    def names(self) -> tuple[str, ...]:
        return (self.header, self.key, *self.aliases)


C = Column
COLUMNS: dict[Kind, list[Column]] = {
    "orgs": [
        C("name_zh", "名称", ("name", "中文名称", "组织名称", "企业名称", "单位名称", "Chinese name"), True, width=36),
        C("name_en", "英文名称", ("English name",), width=30),
        C("credit_code", "统一社会信用代码", ("信用代码", "Credit code", "USCC"), True, width=22),
        C("tier", "梯队", ("Tier",), parse=_tier, render=_labelled(TIER_LABELS)),
        C("layers", "产业链层级", ("层级", "Layers", "Layer"), True, _layers, _labelled(LAYER_LABELS)),
        C("resident", "是否入驻", ("入驻", "Resident"), parse=parse_bool, render=_yes_no),
        C("resident_since", "入驻日期", ("入驻时间", "Resident since"), parse=parse_date),
        C("website", "网址", ("官网", "Website", "URL"), width=30),
        C("description", "简介", ("Description", "介绍"), width=50),
        C("regions", "服务地区", ("地区", "Regions"), parse=split_list, render=_joined),
        C("contact_name", "联系人", ("Contact", "Contact name")),
        C("contact_phone", "联系电话", ("电话", "Phone", "Contact phone")),
        C("contact_email", "联系邮箱", ("邮箱", "Email", "Contact email"), width=26),
    ],
    "models": [
        C("organisation", "所属组织", ("组织", "企业", "Organisation", "Organization"), True, width=36),
        C("name", "模型名称", ("名称", "Model", "Model name"), True, width=24),
        C("modality", "模态", ("Modality",), True, _modality, _labelled(MODALITY_LABELS)),
        C("open_weights", "是否开源", ("开源", "Open weights"), parse=parse_bool, render=_yes_no),
        C("parameters_b", "参数规模（十亿）", ("参数规模", "参数量", "Parameters (billions)", "Parameters"), parse=_parameters),
        C("base_model", "基座模型", ("Base model",), width=24),
        C("capability_tags", "能力标签", ("标签", "Capability tags", "Tags"), parse=split_list, render=_joined, width=30),
        C("description", "简介", ("Description", "介绍"), width=50),
    ],
}  # fmt: skip
del C


def header_key(title: object) -> str:
    """A header matched loosely: width, spaces and case ignored, "*" or "(必填)" dropped."""
    if title is None:
        return ""
    return re.sub(r"(\*|\((必填|选填)\))+$", "", norm(as_text(title)))


ALIASES: dict[Kind, dict[str, Column]] = {
    kind: {header_key(name): col for col in cols for name in col.names()}
    for kind, cols in COLUMNS.items()
}
ROOT_ERROR_COLUMN: dict[Kind, str] = {"orgs": "resident_since", "models": "base_model"}
FIELD_COLUMN = {
    "contact": "contact_name",
    "organisation_id": "organisation",
    "base_model_id": "base_model",
    "base_model_text": "base_model",
}
