"""Server-rendered pages (Jinja2 + HTMX)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    from html import escape

    return HTMLResponse(f"<h1>{status}</h1><p>{escape(message)}</p>", status_code=status)
