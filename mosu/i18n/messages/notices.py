"""English for the notice pages (通知): the inbox filter and the notice settings."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "未读": "Unread",
    "通知设置": "Notice settings",
    "暂无未读通知": "No unread notices",
    "已保存": "Saved",
    "站内通知始终开启。填写邮箱后，可按类别选择逐条发送邮件、每日汇总（北京时间 8:00）或不发邮件。": (
        "In-app notices are always on. With an e-mail address, choose for each topic: an "
        "e-mail per notice, a daily digest (08:00 Beijing time), or no e-mail."
    ),
    "邮箱": "E-mail",
    "邮件语言": "E-mail language",
    "邮件": "E-mail",
    "逐条发送": "Each notice",
    "每日汇总": "Daily digest",
    "不发邮件": "No e-mail",
}
