"""Chinese and English labels of the challenges enums (challenge kinds and states, application states), registered with :mod:`mosu.i18n`."""

from __future__ import annotations

from mosu import i18n
from mosu.challenges.models import ApplicationState, ChallengeKind, ChallengeState

i18n.register_labels(
    ChallengeKind,
    {
        ChallengeKind.government: ("政府榜", "Government list"),
        ChallengeKind.enterprise: ("企业榜", "Enterprise list"),
    },
)
i18n.register_labels(
    ChallengeState,
    {
        ChallengeState.draft: ("草稿", "Draft"),
        ChallengeState.open: ("待揭榜", "Open for applications"),
        ChallengeState.shortlisting: ("入围评审", "Shortlisting"),
        ChallengeState.racing: ("赛马中", "Racing"),
        ChallengeState.decided: ("揭榜成功", "Winners named"),
        ChallengeState.delivery: ("攻关中", "In delivery"),
        ChallengeState.accepted: ("已完成", "Accepted"),
        ChallengeState.closed: ("未揭榜关闭", "Closed without a winner"),
    },
)
i18n.register_labels(
    ApplicationState,
    {
        ApplicationState.submitted: ("待审核", "Submitted"),
        ApplicationState.approved: ("审核通过", "Approved"),
        ApplicationState.rejected: ("未通过", "Rejected"),
        ApplicationState.shortlisted: ("入围", "Shortlisted"),
        ApplicationState.withdrawn: ("已撤回", "Withdrawn"),
        ApplicationState.won: ("揭榜成功", "Won"),
        ApplicationState.not_selected: ("未入选", "Not selected"),
    },
)
