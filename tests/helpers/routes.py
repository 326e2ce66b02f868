"""The app's routes as it serves them (router prefixes applied), and the ``require(...)``
found in each one's dependencies: what the permission walker walks."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route

from mosu.app import API_PREFIX
from mosu.permissions import Requirement

#: Routes that are deliberately outside the permission system (files anyone may fetch).
NOT_PERMISSION_CHECKED = {
    ("route", f"{API_PREFIX}/openapi.json"),
}


def requirements_of(dependant: Dependant) -> list[Requirement]:
    """Every ``require(...)`` found in a route's dependency tree."""
    found: list[Requirement] = []
    for dep in dependant.dependencies:
        requirement = getattr(dep.call, "mosu_requirement", None)
        if isinstance(requirement, Requirement):
            found.append(requirement)
        found.extend(requirements_of(dep))
    return found


@dataclass(frozen=True)
class RouteInfo:
    """A route as the application serves it: full path (router prefixes applied)."""

    kind: str  # "api" (a FastAPI route), "route" (a plain Starlette route) or "mount"
    path: str
    methods: frozenset[str]
    dependant: Dependant | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.path)


def all_routes(app: FastAPI) -> list[RouteInfo]:
    """Every route of ``app``, included routers flattened."""
    found = []
    for rc in iter_route_contexts(app.routes):
        original = rc.original_route
        kind = (
            "api"
            if isinstance(original, APIRoute)
            else "mount"
            if isinstance(original, Mount)
            else "route"
            if isinstance(original, Route)
            else type(original).__name__
        )
        dependant = rc.dependant if kind == "api" else None
        found.append(RouteInfo(kind, str(rc.path), frozenset(rc.methods or ()), dependant))
    return found


def checked_routes(app: FastAPI) -> list[RouteInfo]:
    return [r for r in all_routes(app) if r.kind == "api" and r.key not in NOT_PERMISSION_CHECKED]
