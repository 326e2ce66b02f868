"""The errors of the arena (竞技场): arenas, competitors, prompt uploads, battles and votes."""

from __future__ import annotations

from mosu.core.errors import (
    Conflict,
    Error,
    Forbidden,
    Invalid,
    MosuError,
    NotFound,
    TooManyRequests,
)


class RateLimited(TooManyRequests):
    """A voter past the arena's votes per minute; ``retry_after`` seconds until the next
    vote (sent as ``Retry-After`` over the API)."""


class AlreadyVoted(Conflict):
    """A second vote by the same voter on the same battle."""


# who may run an arena
CREATE_REFUSED = Error("arena.create_refused", Forbidden, "只有运营方可以创建竞技场")
MANAGE_REFUSED = Error("arena.manage_refused", Forbidden, "只有运营方可以管理竞技场")
JUDGE_REFUSED = Error("arena.judge_refused", Forbidden, "只有运营方可以运行裁判模型")
IMPORT_REFUSED = Error("arena.import_refused", Forbidden, "只有运营方可以导入投票")

# arenas, competitors and answers
NO_SUCH_ARENA = Error("arena.no_such_arena", NotFound, "竞技场 {arena} 不存在")
NO_SUCH_DATASET_VERSION = Error(
    "arena.no_such_dataset_version", NotFound, "数据集版本 {version_id} 不存在"
)
NO_SOURCE_PROMPTS = Error(
    "arena.no_source_prompts", Invalid, "所选数据集版本与划分中没有可用的提示"
)
ARENA_NAME_TAKEN = Error("arena.name_taken", Conflict, "已有名为“{name}”的竞技场")
COMPETITOR_NAME_TAKEN = Error(
    "arena.competitor_name_taken", Conflict, "本竞技场已有名为“{name}”的参赛模型"
)
SPEC_REFUSED = Error(
    "arena.spec_refused",
    Invalid,
    "接口只接受不带 key_env/key_ref 的 openai: 规格；带密钥的模型请登记接入点",
)
BAD_SPEC = Error("arena.bad_spec", Invalid, "模型规格无效：{reason}")
NO_SUCH_ENDPOINT = Error("arena.no_such_endpoint", NotFound, "接入点 {endpoint_id} 不存在")
NO_CREDENTIAL_BOX = Error("arena.no_credential_box", Invalid, "调用接入点需要密钥箱")
ENDPOINT_URL_REFUSED = Error("arena.endpoint_url_refused", Invalid, "接入点地址不被允许：{reason}")
UNKNOWN_ANSWER_PROMPTS = Error(
    "arena.unknown_answer_prompts", Invalid, "答案对应的提示不存在：{keys}"
)

# an uploaded prompt set (a zip with a manifest and images)
NOT_MULTIPART = Error(
    "arena.not_multipart", Invalid, "请以 multipart/form-data 上传 zip（字段名 file）"
)
NO_ZIP = Error("arena.no_zip", Invalid, "请上传 zip 文件（字段名 file）")
INVALID_FIELDS = Error("arena.invalid_fields", Invalid, "竞技场字段有误")
NOT_A_ZIP = Error("arena.not_a_zip", Invalid, "不是有效的 zip 文件")
NO_MANIFEST = Error("arena.no_manifest", Invalid, "zip 根目录中需要 manifest.csv 或 manifest.jsonl")
MANIFEST_UNREADABLE = Error("arena.manifest_unreadable", Invalid, "清单无法读取：{reason}")
MANIFEST_LINE_NOT_JSON = Error(
    "arena.manifest_line_not_json", Invalid, "{name} 第 {line} 行不是合法的 JSON（{reason}）"
)
EMPTY_MANIFEST = Error("arena.empty_manifest", Invalid, "清单中没有提示")
TOO_MANY_PROMPTS = Error("arena.too_many_prompts", Invalid, "最多 {max_prompts} 条提示")
BAD_PROMPT_ROWS = Error(
    "arena.bad_prompt_rows", Invalid, "{count} 行有误，未保存任何提示：{problems}"
)
NO_SUCH_IMAGE = Error("arena.no_such_image", NotFound, "图片不存在")

# votes read from a file or posted (Chatbot Arena's records)
BAD_VOTES = Error("arena.bad_votes", MosuError, "{source}：{count} 条投票有误：{problems}")
"""``problems``: each bad record's place and what is wrong with it, as the parser says."""

# battles and votes
NO_COMMON_PROMPT = Error("arena.no_common_prompt", Invalid, "没有两个参赛模型回答过同一提示")
TOO_FEW_ANSWERED = Error("arena.too_few_answered", Invalid, "至少要有两个已作答的参赛模型")
SIGN_IN_TO_VOTE = Error("arena.sign_in_to_vote", Forbidden, "请先登录或开始匿名投票")
NO_SUCH_BATTLE = Error("arena.no_such_battle", NotFound, "对战 {battle_id} 不存在")
NOT_YOUR_BATTLE = Error("arena.not_your_battle", Forbidden, "只能为发给自己的对战投票")
ALREADY_VOTED = Error("arena.already_voted", AlreadyVoted, "这场对战已经投过票了")
VOTING_TOO_FAST = Error(
    "arena.voting_too_fast", RateLimited, "投票太快了：每分钟最多 {votes_per_minute} 票"
)
TOO_MANY_GUESTS = Error(
    "arena.too_many_guests", TooManyRequests, "本地址开始的匿名投票过多，请稍后再试或登录"
)
