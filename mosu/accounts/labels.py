"""Chinese and English labels of the accounts enums (roles), registered with :mod:`mosu.i18n`."""

from __future__ import annotations

from mosu import i18n
from mosu.permissions import Role

i18n.register_labels(
    Role,
    {
        Role.operator: ("运营方", "Operator"),
        Role.demand: ("需求方", "Demand side"),
        Role.supplier: ("供给方", "Supplier"),
        Role.expert: ("专家", "Expert"),
    },
)
