"""Conflicts of interest (利益冲突): the one rule that says whether an expert may review the
applications to a challenge. A pure function, used by the draw, by the confirmation before
an expert sees an application, and by the pool page."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from mosu import i18n
from mosu.core.text import Text
from mosu.i18n import N_

AFFILIATED_ISSUER = N_("任职于发榜单位")
AFFILIATED_APPLICANT = N_("任职于申请单位 {organisation}")
DECLARED_ISSUER = N_("已声明与发榜单位存在利益冲突")
DECLARED_APPLICANT = N_("已声明与申请单位 {organisation} 存在利益冲突")


def conflict(
    *,
    affiliation_id: int | None,
    declared: Collection[int],
    issuer_id: int,
    applicants: Mapping[int, str],
) -> Text | None:
    """Why the expert must step aside, or ``None``.

    ``applicants`` maps every organisation on an application (leads and consortium
    members) to its name. An expert is conflicted when affiliated with the issuer or with
    any applicant, or when they declared a conflict with either.
    """
    if affiliation_id is not None and affiliation_id == issuer_id:
        return Text(AFFILIATED_ISSUER)
    if affiliation_id is not None and affiliation_id in applicants:
        return Text(AFFILIATED_APPLICANT, {"organisation": applicants[affiliation_id]})
    if issuer_id in declared:
        return Text(DECLARED_ISSUER)
    for organisation_id in sorted(set(declared) & applicants.keys()):
        return Text(DECLARED_APPLICANT, {"organisation": applicants[organisation_id]})
    return None


def recorded(reason: Text) -> str:
    """The reason as a panel records it (``Panel.excluded``, an error's details): "中文 /
    English", of which pages show the reader's side."""
    return f"{i18n.render(reason, 'zh')} / {i18n.render(reason, 'en')}"
