"""Errors of the evaluation engine: each names what is wrong and where."""

from __future__ import annotations

from mosu.core.errors import MosuError


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
