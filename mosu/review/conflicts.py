"""Conflicts of interest (利益冲突): the one rule that says whether an expert may review the
applications to a challenge. A pure function, used by the draw, by the confirmation before
an expert sees an application, and by the pool page."""

from __future__ import annotations

from collections.abc import Collection, Mapping


def conflict(
    *,
    affiliation_id: int | None,
    declared: Collection[int],
    issuer_id: int,
    applicants: Mapping[int, str],
) -> str | None:
    """Why the expert must step aside, or ``None``.

    ``applicants`` maps every organisation on an application (leads and consortium
    members) to its name. An expert is conflicted when affiliated with the issuer or with
    any applicant, or when they declared a conflict with either.
    """
    if affiliation_id is not None and affiliation_id == issuer_id:
        return "任职于发榜单位 / affiliated with the issuer"
    if affiliation_id is not None and affiliation_id in applicants:
        return f"任职于申请单位 {applicants[affiliation_id]} / affiliated with an applicant"
    if issuer_id in declared:
        return "已声明与发榜单位存在利益冲突 / declared a conflict with the issuer"
    for organisation_id in sorted(set(declared) & applicants.keys()):
        return (
            f"已声明与申请单位 {applicants[organisation_id]} 存在利益冲突 / "
            "declared a conflict with an applicant"
        )
    return None
