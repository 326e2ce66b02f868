"""English for the desk (工作台), flash messages, confirmation steps and announced results."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # the desk
    "工作台": "Desk",
    "时间为北京时间": "times in Beijing time",
    "待办汇总": "To-do summary",
    "暂无待办": "Nothing waiting",
    "待审核的揭榜申请": "Applications to decide",
    "待审核的券申请": "Voucher applications to review",
    "未完成的评审组": "Panels not yet complete",
    "72 小时内截止的赛马阶段": "Race stages closing within 72 hours",
    "失败的提交与任务": "Failed submissions and jobs",
    "等待对接的场景意向": "Interest waiting on scenarios",
    "我的揭榜申请": "My applications",
    "我的赛马提交": "My race submissions",
    "截止时间": "Deadlines",
    "适合我的场景": "Scenarios that fit us",
    "暂无匹配的场景": "No matching scenarios yet",
    "我的场景": "My scenarios",
    "收到的承接意向": "Interest received",
    "我的榜单": "My challenges",
    # flash messages
    "操作已完成": "Done.",
    "赛马已开始": "The race has started.",
    "已确定揭榜单位": "The winners are named.",
    "阶段已结束": "The stage is closed.",
    "榜单状态已更新为：{state}": "The challenge is now: {state}",
    "已通过该申请": "The application is approved.",
    "已驳回该申请": "The application is rejected.",
    "已确定入围": "The application is shortlisted.",
    # confirmation steps
    "此操作确认后不能撤销。": "Once confirmed, this cannot be undone.",
    "确认": "Confirm",
    "返回，不执行": "Go back without doing it",
    "确认揭榜单位": "Confirm the winners",
    "将确定 {n} 个揭榜单位，榜单随即公布结果，未选中的参赛队记为未入选。": (
        "{n} winner(s) will be named and the results announced; the entries not chosen "
        "will be marked not selected."
    ),
    "确认提前结束阶段": "Confirm closing the stage early",
    "阶段“{stage}”将提前结束：按公布的规则淘汰参赛队，之后不能再提交。": (
        "Stage “{stage}” will close now: entries are cut by its published rule and no more "
        "submissions are taken."
    ),
    "确认发布榜单": "Confirm publishing the challenge",
    "确认批准大额券申请": "Confirm approving a large voucher application",
    "将批准“{name}”的券申请，申请金额 ¥{amount}，达到大额确认标准。": (
        "The voucher application of “{name}” (requesting ¥{amount}) will be approved: an "
        "amount this large is confirmed first."
    ),
    "榜单“{title}”将公开发布，开始接受揭榜申请。": (
        "Challenge “{title}” will be published and open for applications."
    ),
    # results
    "揭榜结果": "Results",
    "最终排名第 {n} 名": "final position {n}",
    "本榜未产生揭榜单位": "This challenge named no winner",
    "最终排行榜": "Final leaderboard",
    "揭榜单位": "Winners",
    "待开赛": "Awaiting the start",
    "未入选": "Not selected",
}
