"""The errors of notifications: the inbox, e-mail settings and the mail jobs."""

from __future__ import annotations

from mosu.core.errors import Error, Invalid, NotFound

NO_SUCH_NOTIFICATION = Error(
    "notifications.no_such_notification", NotFound, "通知 {notification_id} 不存在"
)
BAD_SMTP_URL = Error(
    "notifications.bad_smtp_url",
    Invalid,
    "MOSU_SMTP_URL 应为 smtp://用户名:密码@主机:端口 或 smtps://…",
)
MAIL_JOB_NEEDS_ENGINE = Error(
    "notifications.mail_job_needs_engine", Invalid, "通知邮件任务需要数据库引擎和配置"
)
