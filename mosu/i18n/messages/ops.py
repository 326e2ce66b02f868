"""English for operations (运维): what error pages say of the request."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "请求编号": "Request id",
}
