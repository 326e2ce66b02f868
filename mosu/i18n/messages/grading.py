"""English for experts grading sampled race answers (专家复核) and the judge's agreement."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "专家复核": "Expert grading",
    "待复核的赛马答案": "Race answers to grade",
    "一致性低于 {x}": "agreement below {x}",
    "专家复核平均分": "Experts' mean grade",
    "专家复核胜率": "Experts' win share",
    "两两对比复核": "Pairwise",
    "按维度评分复核": "By criteria",
    "两个回答哪个更好": "Which answer is better",
    "保存复核评分": "Save grade",
    "发起专家复核": "Open expert grading",
    "回答以编号示人：看不到出自哪个参赛队、哪个模型，也看不到评审模型的评分。": (
        "Answers are shown by code: you see neither the team nor the model that wrote them, "
        "nor the judge model's grades."
    ),
    "复核专家用户名（逗号分隔；留空则为评审专家组已确认的专家）": (
        "Experts' usernames (comma-separated; empty: the panel's confirmed experts)"
    ),
    "复核已结束": "Grading closed",
    "复核抽样条数": "Samples to draw",
    "复核方式": "Mode",
    "复核评分维度": "Criteria",
    "复核评语": "Comment",
    "复核进度": "Progress",
    "已复核": "Graded",
    "已复核 {d}/{i} 项": "{d}/{i} items graded",
    "已复核 {d}/{i} 项，{e} 位专家": "{d}/{i} items graded, {e} experts",
    "待评回答": "Answer",
    "我的复核任务": "My grading",
    "抽样 {n} 条，种子 {seed}，{e} 位专家，已复核 {d}/{i} 项": (
        "{n} items, seed {seed}, {e} experts, {d}/{i} items graded"
    ),
    "抽样随机种子（可空）": "Random seed (optional)",
    "本轮没有复核条目": "No items in this round",
    "本阶段没有评审模型，只列出专家评分。": "This stage has no judge model: experts' grades only.",
    "没有待评的复核任务": "Nothing to grade",
    "结束专家复核": "Close grading",
    "评分维度（每行 key | 名称 | 说明；留空则用评审模型的整体评分）": (
        "Criteria (one per line: key | name | description; empty: the judge's overall grade)"
    ),
    "评审模型一致性下限": "Minimum judge agreement",
    "评审模型与专家一致性偏低": "The judge model agrees poorly with the experts",
    "评审模型与专家的一致性": "Judge model's agreement with the experts",
    "阶段自动评分": "Automatic score",
}
