"""English for the public arena (公众竞技场): anonymous voting, the vote counter and the
rate-limit page."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "已收到 {n} 票": "{n} votes so far",
    "你已投 {n} 票": "you have cast {n}",
    "匿名投票": "Vote anonymously",
    "那场对战你已经投过票了，这是下一场。": "You had already voted on that battle; here is the next one.",
    "比较两个匿名模型对同一问题的回答，选出更好的一个。无需注册：投票记为匿名会话的票，与登录用户受同样的频率限制与异常标记。": "Compare two anonymous models' answers to the same question and pick the better one. No sign-up needed: your votes count as an anonymous session's, under the same rate limits and abuse flags as signed-in voters.",
    "开始匿名投票": "Start voting anonymously",
    "登录后投票": "Sign in to vote",
    "投票太快了": "Too many votes",
    "本竞技场每分钟最多 {n} 票。": "This arena takes at most {n} votes a minute.",
    "请在": "Please continue in",
    "秒后继续。": "seconds.",
    "回到投票": "Back to voting",
    "匿名会话 #{n}": "Anonymous session #{n}",
}
