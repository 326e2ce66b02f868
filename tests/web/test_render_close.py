"""A page read (GET) gives its connection back before its template renders: the view's
values are built, the request's session ends its transaction on the worker thread, then
Jinja runs with no connection held (a relation the template loads lazily takes one again:
the permission walker renders every page)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from jinja2 import Environment, Template

from mosu.web import render as render_module
from tests.conftest import LiveServer, World
from tests.helpers.signin import signed_in


class _Watched:
    """A template that notes the pool's checked-out connections when it renders."""

    def __init__(self, template: Template, app: FastAPI, held: list[int]) -> None:
        self.template, self.app, self.held = template, app, held

    def render(self, values: Any) -> str:
        self.held.append(self.app.state.engine.pool.checkedout())
        return self.template.render(values)


class _WatchingEnvironment:
    """What ``render`` sees as its environment: the real one's templates, watched."""

    def __init__(self, env: Environment, app: FastAPI, held: list[int]) -> None:
        self.env, self.app, self.held = env, app, held

    def get_template(self, name: str) -> _Watched:
        return _Watched(self.env.get_template(name), self.app, self.held)


def test_a_page_holds_no_connection_while_its_template_renders(
    app: FastAPI, live: LiveServer, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[int] = []
    monkeypatch.setattr(render_module, "env", _WatchingEnvironment(render_module.env, app, held))
    with signed_in(live, world, "operator") as client:
        for path in ("/", "/orgs", f"/orgs/{world.org_a}", "/challenges", "/models", "/account"):
            held.clear()
            page = client.get(path)
            assert page.status_code == 200, path
            assert "operator" in page.text  # signed in: the badge and the actor were read
            assert held == [0], path
        held.clear()
        form = client.get("/orgs/new")  # a form page too
        assert form.status_code == 200 and held == [0]
