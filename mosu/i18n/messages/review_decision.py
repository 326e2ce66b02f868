"""English for the panel's results, its shortlist and the combined decision (评审结果公示、
专家组建议入围名单、按综合评分确定揭榜单位)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "评审结果公示": "Panel results",
    "评审已结束，结果公示": "The panel has closed; results published",
    "评审尚未结束，结果暂不公示": "The panel is still scoring; results not yet published",
    "评审方式：单盲": "Review: single-blind",
    "评审方式：双盲": "Review: double-blind",
    "评分进度": "Scoring progress",
    "专家 {c}/{m} 人已确认无利益冲突；已提交评分 {s}/{e} 份。": (
        "{c}/{m} experts confirmed no conflict of interest; {s}/{e} scores submitted."
    ),
    "评审结束前不公布任何专家的评分。": "No expert's scores are shown before the panel closes.",
    "各申请评分": "Scores by application",
    "每位专家的加权总分 = Σ 权重 ×（得分 − 下限）/（上限 − 下限），满分 100。评分专家不少于 {n} 人时去掉一个最高分和一个最低分（划线）后取平均，否则取平均。总分极差超过 {t} 分标记为分歧较大。": (
        "Each expert's weighted total = Σ weight × (score − min) / (max − min), out of 100. "
        "With {n} or more experts the highest and the lowest total are dropped (struck "
        "through) before averaging; otherwise the plain mean. A range of totals above {t} "
        "points is flagged as wide disagreement."
    ),
    "专家组评分": "Panel score",
    "总分极差": "Range of totals",
    "评分专家": "Expert",
    "专家加权总分": "Weighted total",
    "专家评语": "Comment",
    "专家分歧较大": "Wide disagreement",
    "去掉的最高分": "Dropped: the highest total",
    "去掉的最低分": "Dropped: the lowest total",
    "尚无专家评分": "No scores yet",
    "评语仅运营方和申请方本单位可见；排名和评审得分公开。": (
        "Comments are seen by operators and the applicant's own team only; the ranking and "
        "the panel scores are public."
    ),
    "专家意见一致性": "Agreement among the experts",
    "按 {m} 位评完全部 {n} 份申请的专家计算。W 衡量专家排序的一致程度（0 完全不一致，1 完全一致）；ICC(2,k) 衡量平均分的信度。": (
        "Computed over the {m} experts who scored all {n} applications. W measures how alike "
        "their rankings are (0 none, 1 identical); ICC(2,k) the reliability of the mean score."
    ),
    "至少需要两位专家评完两份以上申请才能计算一致性。": (
        "Agreement needs at least two experts who scored two or more applications."
    ),
    "专家组建议入围名单": "The panel's proposed shortlist",
    "按评审得分建议的入围名单（前 {n} 名）": "Proposed by panel score (top {n})",
    "入围名单已确认：": "Shortlist confirmed: ",
    "选择入围申请（与建议相同可直接确认）": (
        "Choose the applications to shortlist (the proposal needs no reason)"
    ),
    "与建议不同时须说明理由（至少 {n} 个字，记入审计日志）": (
        "A choice other than the proposal needs a reason ({n}+ characters, kept in the audit log)"
    ),
    "确认专家组入围名单": "Confirm the shortlist",
    "按综合评分确定揭榜单位": "Winners by the combined score",
    "本榜单的综合评分规则": "This challenge's combined rule",
    "综合评分 = {rw} × 专家组评分 + {cw} × 赛马最终得分": (
        "Combined = {rw} × panel score + {cw} × final race score"
    ),
    "评审得分按 0–100，赛马得分 × 100": "panel score on 0–100, race score × 100",
    "各项除以最佳参赛队的该项 × 100": "each part over the best entry's, × 100",
    "各项按最低 0、最高 100 线性换算": "each part mapped linearly from lowest 0 to best 100",
    "同分时比评审得分": "ties broken by the panel score",
    "同分时比赛马得分": "ties broken by the race score",
    "赛马得分为最后一个阶段最终排名（隐藏部分）的主指标 {p}。": (
        "The race score is the final stage's final (hidden part) primary metric {p}."
    ),
    "各参赛队得分": "Scores by entry",
    "赛马最终得分": "Final race score",
    "评审（换算）": "Panel (normalised)",
    "赛马（换算）": "Race (normalised)",
    "综合得分": "Combined",
    "赛马各阶段结束后显示赛马得分和综合评分。": (
        "The race score and the combined score appear once every stage has closed."
    ),
    "按规则排序预选前 {n} 名": "The rule's top {n} are preselected",
    "不按规则排序选择时须说明理由（至少 {n} 个字，记入审计日志）": (
        "Winners other than the rule's order need a reason ({n}+ characters, kept in the audit log)"
    ),
}
