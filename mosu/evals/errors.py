"""Errors of the evaluation engine: each names what is wrong and where."""

from __future__ import annotations

from mosu.core.errors import Error, MosuError


class EvalError(MosuError):
    """Base class of the evaluation engine's user-facing errors."""

    code = "eval_error"


class TaskError(EvalError):
    """A task definition is invalid (unknown field, missing template variable, unknown scorer)."""

    code = "invalid_task"


class DataError(EvalError):
    """A dataset cannot be read or mapped (missing file or field, duplicate id)."""

    code = "invalid_data"


class ModelSpecError(EvalError):
    """A model spec string cannot be parsed or its model cannot be built."""

    code = "invalid_model"


class PredictionsError(EvalError):
    """A predictions file has missing, duplicate or unknown ids."""

    code = "invalid_predictions"


class PluginError(EvalError):
    """A plug-in (an entry point in ``mosu.scorers`` or ``mosu.model_kinds``) failed to load,
    is not what its group expects, or takes a name that is already taken."""

    code = "plugin_error"


# the command lines (mosu eval run, mosu eval perf): bad input exits 2 with the message
NOTHING_TO_RESUME = Error("evals.nothing_to_resume", MosuError, "无可续跑的运行：{store} 不存在")
UNKNOWN_EXECUTOR = Error(
    "evals.unknown_executor", MosuError, "未知的执行器 {name}，请选择 local 或 ray"
)
NO_SUCH_PROMPTS_FILE = Error("evals.no_such_prompts_file", MosuError, "提示文件不存在：{path}")
BAD_PROMPT_LINE = Error(
    "evals.bad_prompt_line", MosuError, "{path}:{line}：应为含 prompt 或 messages 字段的 JSON 对象"
)
STEPS_NOT_NUMBERS = Error(
    "evals.steps_not_numbers", MosuError, "--steps {steps}：应为整数，例如 1,4,16,64"
)
STEPS_MUST_RISE = Error(
    "evals.steps_must_rise", MosuError, "--steps {steps}：各步须递增，且每步至少为 1"
)
PROMPTS_OR_TASK = Error(
    "evals.prompts_or_task", MosuError, "--prompts FILE 与 --task TASK 须且只能给出一个"
)
