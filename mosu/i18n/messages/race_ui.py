"""English for racing from the UI: the stage builder and its preview, predictions stages'
sample file, bulk shortlisting, and testing endpoints on the account page."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "prediction 须为以下标签之一": "prediction must be one of these labels",
    "下载提交样例": "Download a sample submission",
    "入围名额 {n} 个；所选申请一并入围，有一份不能入围则都不入围。": (
        "{n} shortlist places; the ticked applications are shortlisted together, and if one "
        "of them cannot be, none is."
    ),
    "删除这个接入点；已有的提交结果保留。": "Delete this endpoint; past submissions keep their results.",
    "参考答案": "Reference answer",
    "可用": "Answered",
    "可用字段": "Fields",
    "回答": "Answer",
    "失败后重试成功的调用": "Calls retried after a failure",
    "尚未参赛": "Not raced yet",
    "开发集": "dev split",
    "所选申请入围": "Shortlist the ticked applications",
    "提示词模板": "Prompt template",
    "最近 {n} 次提交的出错率": "error rate over the last {n} submissions",
    "最近一次提交": "Last submission",
    "最近测试": "Last test",
    "标签集": "Label set",
    "测试": "Test",
    "用双花括号引用数据字段，例如": "refer to a data field in double braces, e.g.",
    "答案解析": "Answer parser",
    "系统提示词（可空）": "System prompt (optional)",
    "训练集": "train split",
    "评分指标（第一个为主指标）": "Scorers (the first is the primary metric)",
    "评测任务": "Evaluation task",
    "赛马中的健康": "Health in races",
    "重试 {n} 次": "{n} retried",
    "阶段须在榜单有效期（{a} 至 {b}）之内。": (
        "A stage must lie within the challenge's window ({a} to {b})."
    ),
    "预览提示词（开发集的一条真实数据）": "Preview the prompt (on a real dev row)",
    "预览行": "Preview row",
    "高级：用 YAML 定义任务（填写后以 YAML 为准）": (
        "Advanced: define the task in YAML (when filled in, the YAML is used)"
    ),
    "请选择数据集版本": "Choose a data set version",
    "图片传送方式（图文数据集）": "How images are sent (image data sets)",
    "请求内嵌 base64（默认，隐藏图片不出现在任何网址）": (
        "In the request as base64 (the default: hidden images are at no address)"
    ),
    "平台签名链接，15 分钟有效（端点须能访问本站）": (
        "Signed platform links, valid 15 minutes (the endpoint must reach this site)"
    ),
    "{stage}（最终）": "{stage} (final)",
    "{stage}（公开）": "{stage} (public part)",
    "{stage}：质量—成本": "{stage}: quality against cost",
    "每千样本成本（元）": "Cost per 1,000 samples (¥)",
    "帕累托前沿": "Pareto front",
}
