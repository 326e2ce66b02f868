"""Chinese and English labels of the supply enums (voucher kinds, service modes), registered
with :mod:`mosu.i18n`."""

from __future__ import annotations

from mosu import i18n
from mosu.supply.models import ServiceMode, VoucherKind

i18n.register_labels(
    VoucherKind,
    {
        VoucherKind.compute: ("算力券", "Compute voucher"),
        VoucherKind.model: ("模型券", "Model voucher"),
        VoucherKind.corpus: ("语料券", "Corpus voucher"),
    },
)
i18n.register_labels(
    ServiceMode,
    {
        ServiceMode.api: ("API 调用", "API"),
        ServiceMode.private: ("私有化部署", "Private deployment"),
    },
)
