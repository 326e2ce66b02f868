"""Bulk import and export of organisations and models (xlsx and CSV)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["registry import/export"])
