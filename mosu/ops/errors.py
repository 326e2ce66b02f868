"""The errors of operations: health checks, metrics and personal data."""

from __future__ import annotations

from mosu.core.errors import Error, Forbidden

METRICS_REFUSED = Error("ops.metrics_refused", Forbidden, "不允许读取监控指标")
