"""Languages of the web UI: Chinese source strings, English translations, enum labels.

Pages are written in Chinese; :data:`CATALOGUE` maps each Chinese string to its English
form. Enum members carry a label in both languages (:data:`ENUM_LABELS`), and
:func:`parse_label` reads a label in either language back into its member, so a
spreadsheet may say 北斗七星, Big Dipper or ``core``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Literal, TypeVar

from mosu.accounts.models import Role
from mosu.registry.models import FilingKind, FilingStatus, Layer, Modality, Tier

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
LANG_COOKIE = "lang"
HTML_LANG: Mapping[Language, str] = {"zh": "zh-CN", "en": "en"}
E = TypeVar("E", bound=enum.Enum)

ENUM_LABELS: Mapping[enum.Enum, tuple[str, str]] = {
    Tier.core: ("北斗七星", "Big Dipper (core)"),
    Tier.cluster: ("群星", "Constellation (cluster)"),
    Tier.other: ("其他", "Other"),
    Layer.compute: ("算力", "Compute"),
    Layer.corpus: ("语料", "Corpus"),
    Layer.model: ("模型", "Model"),
    Layer.application: ("应用", "Application"),
    Layer.service: ("服务", "Service"),
    Modality.text: ("文本", "Text"),
    Modality.image: ("图像", "Image"),
    Modality.audio: ("语音", "Speech"),
    Modality.video: ("视频", "Video"),
    Modality.multimodal: ("多模态", "Multimodal"),
    Modality.code: ("代码", "Code"),
    FilingKind.beian: ("备案", "Filing"),
    FilingKind.dengji: ("登记", "Registration"),
    FilingStatus.active: ("有效", "Active"),
    FilingStatus.suspended: ("暂停", "Suspended"),
    FilingStatus.revoked: ("注销", "Revoked"),
    Role.operator: ("运营方", "Operator"),
    Role.demand: ("需求方", "Demand side"),
    Role.supplier: ("供给方", "Supplier"),
    Role.expert: ("专家", "Expert"),
}

CATALOGUE: Mapping[str, str] = {
    # layout
    "模速": "ModelSpeed",
    "模速空间 · 大模型创新生态社区": "ModelSpeed Space · AI model innovation community",
    "生态概览": "Overview",
    "企业机构": "Organisations",
    "模型库": "Models",
    "备案登记": "Filings",
    "批量导入": "Import",
    "我的账号": "My account",
    "登录": "Sign in",
    "退出": "Sign out",
    "语言": "Language",
    "主导航": "Main navigation",
    "返回首页": "Back to the overview",
    "出错了": "Something went wrong",
    "页面不存在": "Page not found",
    "无权访问": "Not allowed",
    # login
    "用户名": "Username",
    "密码": "Password",
    "用户名或密码错误": "Wrong username or password",
    "登录后可维护本组织资料、模型与接入点。": (
        "Sign in to keep your organisation, models and endpoints up to date."
    ),
    # overview
    "入驻企业": "Resident organisations",
    "企业机构总数": "Organisations",
    "模型总数": "Models",
    "已备案模型": "Filed models",
    "已登记应用": "Registered apps",
    "占{region}备案总数": "of all filed models in {region}",
    "占地区备案总数": "of the regional total of filed models",
    "地区备案总数未填写": "Regional total not entered yet",
    "按梯队": "By tier",
    "按产业链层级": "By layer of the chain",
    "按模态": "By modality",
    "备案登记趋势": "Filings over time",
    "累计": "Cumulative",
    "月份": "Month",
    "数量": "Count",
    "填写地区备案总数": "Enter the regional total of filed models",
    "地区": "Region",
    "备案总数": "Total filed models",
    "保存": "Save",
    "暂无备案数据": "No filings yet",
    # lists
    "搜索": "Search",
    "名称、简介、信用代码": "Name, description, credit code",
    "名称、能力标签、所属组织": "Name, capability tags, organisation",
    "备案号、模型、组织": "Filing number, model, organisation",
    "梯队": "Tier",
    "产业链层级": "Layer",
    "是否入驻": "Resident",
    "全部": "All",
    "是": "Yes",
    "否": "No",
    "筛选": "Filter",
    "共 {n} 条": "{n} in total",
    "没有符合条件的记录": "Nothing matches",
    "上一页": "Previous",
    "下一页": "Next",
    "第 {page} / {pages} 页": "Page {page} of {pages}",
    "名称": "Name",
    "英文名称": "English name",
    "模型数": "Models",
    "已备案": "Filed",
    "未备案": "Not filed",
    "已入驻": "Resident",
    "新增组织": "New organisation",
    "新增模型": "New model",
    "新增备案登记": "New filing",
    # organisation
    "统一社会信用代码": "Unified social credit code",
    "入驻日期": "Resident since",
    "网址": "Website",
    "简介": "Description",
    "业务地区": "Regions",
    "多个用逗号分隔": "separate several with commas",
    "联系人": "Contact",
    "联系电话": "Phone",
    "电子邮箱": "Email",
    "联系方式": "Contact details",
    "仅运营方与本组织成员可见": "Visible to operators and the organisation's members only",
    "编辑": "Edit",
    "模型": "Models",
    "备案与登记": "Filings and registrations",
    "暂无模型": "No models yet",
    "暂无备案": "No filings yet",
    "编辑组织": "Edit organisation",
    "梯队、入驻与信用代码由运营方维护": (
        "Tier, residency, name and credit code are kept by the operator"
    ),
    "请修正以下问题": "Please fix the following",
    "取消": "Cancel",
    # models
    "模态": "Modality",
    "开源权重": "Open weights",
    "参数量（十亿）": "Parameters (billions)",
    "基座模型": "Base model",
    "基座模型（未登记的填写名称）": "Base model (name, if not registered here)",
    "无": "None",
    "能力标签": "Capability tags",
    "所属组织": "Organisation",
    "是否备案": "Filed",
    "编辑模型": "Edit model",
    "备案状态": "Filing status",
    # filings
    "类型": "Kind",
    "状态": "Status",
    "备案号": "Filing number",
    "日期": "Date",
    "所依托模型": "Based on model",
    "登记须选择所依托的已备案模型": "A registration names the filed model it is built on",
    "日期（可省略，取备案号中的日期）": "Date (optional; taken from the filing number)",
    # import
    "上传 xlsx 或 CSV 文件，先校验，全部无误才写入。": (
        "Upload an xlsx or CSV file; it is checked first and written only when every row is valid."
    ),
    "导入内容": "What to import",
    "组织": "Organisations",
    "文件": "File",
    "工作表（可省略）": "Sheet (optional)",
    "丢弃无效行，导入其余行": "Drop invalid rows and import the rest",
    "校验并导入": "Check and import",
    "导入报告": "Import report",
    "文件名": "File name",
    "编码": "Encoding",
    "总行数": "Rows",
    "有效行": "Valid rows",
    "已写入": "Written",
    "已丢弃的行": "Dropped rows",
    "行": "Row",
    "列": "Column",
    "原因": "Reason",
    "已导入，全部行有效。": "Imported: every row was valid.",
    "已导入有效行，无效行已丢弃。": "Valid rows imported; invalid rows dropped.",
    "有无效行，未写入任何数据。": "Some rows are invalid; nothing was written.",
    "导出": "Export",
    "请选择文件": "Choose a file",
    "文件超过 {mb} MiB 上限": "The file is larger than {mb} MiB",
    "上传已过期，请重新选择文件": "The upload expired; choose the file again",
    # account
    "角色": "Role",
    "API 令牌": "API tokens",
    "令牌用于命令行与 API，仅在创建时显示一次。": (
        "Tokens are for the CLI and the API; each is shown once, when it is created."
    ),
    "新令牌（请立即复制，之后不再显示）": "New token (copy it now, it will not be shown again)",
    "令牌名称": "Token name",
    "创建令牌": "Create token",
    "前缀": "Prefix",
    "创建时间": "Created",
    "最近使用": "Last used",
    "撤销": "Revoke",
    "已撤销": "Revoked",
    "暂无令牌": "No tokens yet",
    "模型接入点": "Model endpoints",
    "OpenAI 兼容的接口地址；密钥加密保存，之后不再显示。": (
        "OpenAI-compatible endpoint; the key is stored encrypted and never shown again."
    ),
    "接口地址": "Base URL",
    "模型名": "Model name",
    "API 密钥": "API key",
    "关联模型": "Linked model",
    "已设置密钥": "Key set",
    "添加接入点": "Add endpoint",
    "暂无接入点": "No endpoints yet",
    # form validation (pydantic error types)
    "此项必填": "This field is required",
    "不能为空": "Must not be empty",
    "内容过长": "Too long",
    "至少选择一项": "Choose at least one",
    "日期格式应为 YYYY-MM-DD": "Dates look like YYYY-MM-DD",
    "须为数字": "Must be a number",
    "须为整数": "Must be a whole number",
    "数值超出范围": "Value out of range",
    "选项无效": "Not a valid choice",
    # corpus catalogue
    "上传失败": "Upload failed",
    "上限 {mb} MiB": "limit {mb} MiB",
    "下载": "Downloads",
    "丢弃有问题的行": "Drop the flagged rows",
    "位置": "Where",
    "保留有问题的行": "Keep the flagged rows",
    "全角转半角": "Full-width to half-width",
    "全部版本": "All versions",
    "内容与已有版本 v{n} 完全相同，未新建版本": "Identical to the existing version v{n}; no new version was made",
    "划分": "Splits",
    "划分字段": "Split field",
    "划分方式": "How split",
    "划分随机种子": "Split seed",
    "去除首尾空白": "Strip padding",
    "只显示前 500 个问题，共 {n} 个": "Showing the first 500 of {n} problems",
    "处理方式": "Choice",
    "字段": "Fields",
    "字段与校验": "Fields and checks",
    "字符 {n}-gram，至少 {p}% 重合": "character {n}-grams, at least {p}% shared",
    "对照": "Compared with",
    "对照 {m} 个其他语料": "against {m} other corpora",
    "对照行": "Reference row",
    "导入新版本": "Import a new version",
    "导入时发现的问题": "Problems found on import",
    "已上传，正在校验…": "Uploaded; checking…",
    "已丢弃": "Dropped",
    "已写入新版本 v{n}": "Written as the new version v{n}",
    "或：训练集文件": "Or: training split file",
    "按标签分层": "stratified by label",
    "提供方": "Provider",
    "提供方未填写": "Provider not given",
    "支持 CSV（UTF-8、带 BOM、GBK/GB18030、UTF-16）、JSONL、xlsx、CMMLU 目录（zip）与 CLUE JSON 行。先校验，全部无误才写入；也可以选择丢弃或保留有问题的行。": "CSV (UTF-8, with BOM, GBK/GB18030, UTF-16), JSONL, xlsx, a CMMLU folder (zip) and CLUE JSON lines. Everything is checked first and written only when clean, unless you choose to drop or keep the flagged rows.",
    "政务、教育": "government, education",
    "数据文件（划分来自列或由平台生成）": "Data file (split from a column, or made by the platform)",
    "数据集卡片": "Data set card",
    "文件无法导入，未写入任何数据": "The file cannot be imported; nothing was written",
    "文本长度分布（字）": "Text length (characters)",
    "暂无版本": "No versions yet",
    "暂无语料": "No corpora yet",
    "有 {n} 行有问题，未写入任何数据": "{n} rows flagged; nothing was written",
    "有共同 n-gram 的行": "Rows sharing any n-gram",
    "有问题则不写入": "Write nothing if any row is flagged",
    "有问题的行": "Flagged rows",
    "本版本公开划分": "This version's public splits",
    "来源": "Source",
    "来源与加工": "Provenance",
    "查看数据集卡片": "Open the data set card",
    "标签": "Label",
    "标签分布": "Labels",
    "标签字段": "Label field",
    "标签集合（逗号分隔，可省略）": "Label set (comma separated, optional)",
    "格式": "Format",
    "此划分没有数据": "This split has no rows",
    "污染检测": "Contamination check",
    "没有测试集，无需检测": "No test split to check",
    "测试行": "Test row",
    "测试集 {n} 行，{k} 行与已知数据重叠": "{k} of {n} test rows overlap known data",
    "测试集与已知数据重叠": "The test split overlaps known data",
    "测试集文件（隐藏）": "Test split file (hidden)",
    "测试集是隐藏的，只有运营方可以查看。": "The test split is hidden; only operators can see it.",
    "浏览": "Browse",
    "版本": "Version",
    "用时": "Time",
    "登记语料": "Register a corpus",
    "示例（仅运营方可见）": "Examples (operators only)",
    "类别": "Category",
    "类别字段": "Category field",
    "编号": "ID",
    "编号字段": "ID field",
    "自动识别": "detected",
    "行业标签": "Industry tags",
    "行数": "Rows",
    "规范化": "Normalisation",
    "许可": "Licence",
    "许可未知": "Licence unknown",
    "许可未知：使用前请向提供方确认授权。": "Licence unknown: ask the provider for permission before use.",
    "语料": "Corpora",
    "语料目录": "Corpus catalogue",
    "输入": "Inputs",
    "输入字段（逗号分隔）": "Input fields (comma separated)",
    "选择会记录在版本的来源信息中。": "Your choice is recorded in the version's provenance.",
    "重叠行": "Overlapping rows",
    "重合": "Shared",
    "重新提交": "Submit again",
    "重新检测": "Check again",
    "长度上限（字）": "Length limit (characters)",
    "问题行": "Flagged rows",
    "隐藏": "hidden",
    "验证集文件": "Dev split file",
    # ---- arena (竞技场): the list, leaderboard and voting pages
    "95% 区间": "95% interval",
    "A 更好": "A is better",
    "B 更好": "B is better",
    "一致率": "Agreement",
    "下一场": "Next battle",
    "人工分出胜负时的一致率": "Agreement where people picked a winner",
    "人工投票": "People's votes",
    "你选了 A：{m}": "You chose A: {m}",
    "你选了 B：{m}": "You chose B: {m}",
    "你选了平局": "You called it a tie",
    "你选了都不好": "You found both bad",
    "全部投票": "All votes",
    "共 {n} 场对战；Bradley-Terry 评分，95% 区间来自 100 轮自助法；名次按上界排定（区间重叠的模型并列）。": "{n} battles; Bradley-Terry ratings, 95% intervals from 100 bootstrap rounds; ranked by upper bound (models whose intervals overlap share a rank).",
    "共同对战": "Shared battles",
    "匿名两两对战：同一问题的两个回答，投票后才揭晓模型名称。": "Blind pairwise battles: two answers to the same question; the models are named only after your vote.",
    "去投票": "Vote",
    "参赛模型": "Competitors",
    "名次": "Rank",
    "回答 A": "Answer A",
    "回答 B": "Answer B",
    "在线 Elo": "Online Elo",
    "对战": "Battles",
    "已投票。": "Vote recorded.",
    "已排除 {n} 位被标记投票者的票。": "Votes of {n} flagged voter(s) are left out.",
    "平局": "Tie",
    "总选同一边": "Always one side",
    "投票": "Vote",
    "投票快于阅读": "Votes faster than reading",
    "投票来源": "Votes from",
    "投票者": "Voters",
    "提示": "Prompts",
    "暂无竞技场": "No arenas yet",
    "标记": "Flags",
    "用户": "User",
    "用时中位数（秒）": "Median time (s)",
    "票数": "Votes",
    "票数尚少，部分模型从未输过：评分加了小的惩罚项。": "Few votes so far and some model never lost: the ratings carry a small penalty.",
    "竞技场": "Arena",
    "胜率矩阵（行胜列）": "Win rate (row beats column)",
    "裁判与人工的一致率": "Judge agreement with people",
    "裁判投票": "Judge votes",
    "裁判模型": "Judge model",
    "评分": "Rating",
    "评分与 95% 置信区间": "Ratings with 95% intervals",
    "过快票数": "Fast votes",
    "还没有投票": "No votes yet",
    "选 A": "Chose A",
    "选 B": "Chose B",
    "都不好": "Both bad",
    "键盘：1 或 A 选 A，2 或 B 选 B，3 平局，4 都不好。模型名称在投票后揭晓。": "Keyboard: 1 or A for A, 2 or B for B, 3 tie, 4 both bad. The models are named after your vote.",
    "问题": "Question",
}

_PYDANTIC_MESSAGES: Mapping[str, str] = {
    "missing": "此项必填",
    "string_too_short": "不能为空",
    "string_too_long": "内容过长",
    "too_short": "至少选择一项",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "float_parsing": "须为数字",
    "int_parsing": "须为整数",
    "greater_than": "数值超出范围",
    "greater_than_equal": "数值超出范围",
    "less_than": "数值超出范围",
    "enum": "选项无效",
}


def normalise(code: str | None, default: Language = "zh") -> Language:
    """``code`` when it names a supported language, else ``default``."""
    for lang in LANGUAGES:
        if code == lang:
            return lang
    return default


def gettext(lang: Language, text: str, /, **params: object) -> str:
    """``text`` (a Chinese source string) in ``lang``, with ``{name}`` fields filled in."""
    if lang == "en":
        text = CATALOGUE.get(text, text)
    return text.format(**params) if params else text


def label(member: enum.Enum | str, lang: Language) -> str:
    """The display label of an enum member (a plain string passes through)."""
    if isinstance(member, enum.Enum) and member in ENUM_LABELS:
        zh, en = ENUM_LABELS[member]
        return en if lang == "en" else zh
    return str(member)


def parse_label(cls: type[E], text: str) -> E | None:
    """The member of ``cls`` whose value, Chinese label or English label is ``text``."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    for member in cls:
        zh, en = ENUM_LABELS.get(member, ("", ""))
        if wanted in {str(member.value).casefold(), zh.casefold(), en.casefold()}:
            return member
    return None


def local_message(message: str, lang: Language) -> str:
    """One side of a bilingual ``"中文 / English"`` message, else the message as it is."""
    zh, sep, en = message.partition(" / ")
    if not sep:
        return message
    return en if lang == "en" else zh


def validation_message(error_type: str, message: str, lang: Language) -> str:
    """A readable message for one pydantic error: ours verbatim, pydantic's by its type."""
    if error_type == "value_error":
        return message.removeprefix("Value error, ")
    if error_type in _PYDANTIC_MESSAGES:
        return gettext(lang, _PYDANTIC_MESSAGES[error_type])
    return message
