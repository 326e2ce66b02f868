"""English for the overview's community figures and a model's page (races, arena, offers)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # the overview
    "社区动态": "The community",
    "已发布榜单": "Published challenges",
    "赛马进行中": "Races running",
    "开放中的阶段：{n}": "stages open: {n}",
    "竞技场投票": "Arena votes",
    "竞技场：{n}": "arenas: {n}",
    "补贴券已承诺": "Vouchers committed",
    "企业与模型": "Organisations and models",
    "榜单（按状态）": "Challenges by state",
    "补贴券：已承诺与已兑付": "Vouchers: committed and paid",
    "万元": "10k yuan",
    "已承诺": "Committed",
    # a model's page
    "赛马成绩": "Races",
    "只列出该模型揭榜成功的赛马。": "Only the races this model won are listed.",
    "各阶段名次与得分": "Rank and score by stage",
    "第 {rank} 名 / {n}": "rank {rank} of {n}",
    "未上榜": "not ranked",
    "公开榜": "public board",
    "尚未开赛": "not started",
    "暂无赛马成绩": "No races yet",
    "竞技场评分": "Arena ratings",
    "对战数": "Battles",
    "尚未参加竞技场": "Not in any arena yet",
    "每百万 tokens（输入 / 输出）": "Per million tokens (input / output)",
    "衍生模型": "Derived models",
    "暂无以此为基座的模型": "No model is registered with this one as its base",
}
