"""The panel pages over HTTP: the operator draws on the challenge's panel page, the public
page shows the draw without names, and the expert's queue links to the panel."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from mosu.core.settings import Settings
from tests.conftest import LiveServer, World
from tests.helpers.review_panels import make_expert, ready_challenge
from tests.helpers.scenarios import make_model
from tests.helpers.signin import browser, sign_in


def test_the_operator_draws_on_the_panel_page_and_the_public_sees_the_draw(
    live: LiveServer, world: World, db: Session, settings: Settings
) -> None:
    model = make_model(db, world.org_a)
    ready = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir)
    experts = [make_expert(db, fields=("页面",), name=f"pageexpert{i}") for i in range(3)]
    cid = ready.challenge.id
    with browser(live) as op:
        sign_in(op, "operator", world.passwords["operator"])
        detail = op.get(f"/challenges/{cid}")
        assert f'href="/challenges/{cid}/panel"' in detail.text
        form = {"size": "2", "field": "页面", "seed": "99", "deadline": "2099-01-01T09:00"}
        too_many = op.post(f"/challenges/{cid}/panel", data={**form, "size": "5"})
        assert too_many.status_code == 422 and "符合条件的专家只有 3 位" in too_many.text
        drawn = op.post(f"/challenges/{cid}/panel", data=form)
        assert drawn.status_code == 303
        page = op.get(f"/challenges/{cid}/panel").text
        assert "pageexpert" in page and "2099年1月1日 09:00" in page
        assert "抽取评审专家组" in op.get(f"/challenges/{cid}").text  # the audit log's line
        assert op.post(f"/challenges/{cid}/panel/close", data={}).status_code == 303
    with browser(live) as public:
        page = public.get(f"/challenges/{cid}/panel").text
        assert "<code>99</code>" in page
        order = re.search(r'id="panel-candidates"><code>([\d, ]+)</code>', page)
        assert order is not None
        assert sorted(int(x) for x in order.group(1).split(", ")) == [e.user_id for e in experts]
        # closed: the members' names are public now
        assert "pageexpert" in page


def test_the_expert_queue_and_nav_link(
    live: LiveServer, world: World, db: Session, settings: Settings
) -> None:
    model = make_model(db, world.org_a)
    ready = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir)
    expert = make_expert(db, fields=("队列",))
    with browser(live) as op:
        sign_in(op, "operator", world.passwords["operator"])
        op.post(f"/challenges/{ready.challenge.id}/panel", data={"size": "1", "field": "队列"})
        page = op.get(f"/challenges/{ready.challenge.id}/panel").text
        assert expert.username in page  # operators see the members
    with browser(live) as supplier:
        sign_in(supplier, "supplier_a", world.passwords["supplier_a"])
        page = supplier.get(f"/challenges/{ready.challenge.id}/panel").text
        assert expert.username not in page and 'id="review-link"' not in page
    with browser(live) as tab:
        sign_in(tab, expert.username, expert.password)
        queue = tab.get("/review").text
        assert 'id="review-link"' in queue and ready.challenge.title in queue
        panel = tab.get(re.search(r'href="(/review/panels/\d+)"', queue).group(1))  # type: ignore[union-attr]
        assert 'id="confirm-button"' in panel.text
        assert "待评申报材料" not in panel.text  # nothing before confirming
