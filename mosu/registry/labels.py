"""Chinese and English labels of the registry enums (tiers, layers, modalities and filings), registered with :mod:`mosu.i18n`."""

from __future__ import annotations

from mosu import i18n
from mosu.registry.models import FilingKind, FilingStatus, Layer, Modality, Tier

i18n.register_labels(
    Tier,
    {
        Tier.core: ("北斗七星", "Big Dipper (core)"),
        Tier.cluster: ("群星", "Constellation (cluster)"),
        Tier.other: ("其他", "Other"),
    },
)
i18n.register_labels(
    Layer,
    {
        Layer.compute: ("算力", "Compute"),
        Layer.corpus: ("语料", "Corpus"),
        Layer.model: ("模型", "Model"),
        Layer.application: ("应用", "Application"),
        Layer.service: ("服务", "Service"),
    },
)
i18n.register_labels(
    Modality,
    {
        Modality.text: ("文本", "Text"),
        Modality.image: ("图像", "Image"),
        Modality.audio: ("语音", "Speech"),
        Modality.video: ("视频", "Video"),
        Modality.multimodal: ("多模态", "Multimodal"),
        Modality.code: ("代码", "Code"),
    },
)
i18n.register_labels(
    FilingKind,
    {
        FilingKind.beian: ("备案", "Filing"),
        FilingKind.dengji: ("登记", "Registration"),
    },
)
i18n.register_labels(
    FilingStatus,
    {
        FilingStatus.active: ("有效", "Active"),
        FilingStatus.suspended: ("暂停", "Suspended"),
        FilingStatus.revoked: ("注销", "Revoked"),
    },
)
