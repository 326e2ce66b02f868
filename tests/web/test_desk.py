"""The desk (工作台), flash messages and the confirmation step, over real HTTP: sign-in lands
on the desk; each role's items link to where they are done; an action's message shows once,
in the reader's language; publishing waits for a confirmation."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from mosu.challenges.models import ChallengeState
from mosu.core.settings import Settings
from tests.conftest import LiveServer, World, on_primary_database
from tests.helpers.scenarios import make_application, make_challenge, make_model
from tests.helpers.signin import browser, sign_in, signed_in

FLASH = re.compile(r'<div class="alert success flash" id="flash" role="status">([^<]*)</div>')


def _section(page: str, key: str) -> str:
    found = re.search(
        rf'<section class="card desk-section" id="desk-{key}">(.*?)</section>', page, re.S
    )
    assert found is not None, f"no desk section {key}"
    return found.group(1)


def _count(page: str, key: str) -> int:
    found = re.search(rf'data-key="{key}">[^<]*<span class="count">(\d+)</span>', page)
    assert found is not None, f"no header count for {key}"
    return int(found.group(1))


@on_primary_database
def test_each_desk_leads_to_the_work_and_an_action_says_what_it_did(
    live: LiveServer, world: World, db: Session, settings: Settings
) -> None:
    challenge = make_challenge(db, world, title="热线工单分拨揭榜")
    model_id = make_model(db, world.org_a)
    application = make_application(
        db, world, challenge, model_id=model_id, data_dir=settings.data_dir
    )
    draft = make_challenge(db, world, publish=False, title="政务问答草稿榜")

    with browser(live) as op:
        landed = sign_in(op, "operator", world.passwords["operator"])
        assert landed.status_code == 303 and landed.headers["location"] == "/desk"
        desk = op.get("/desk").text
        assert _count(desk, "applications") == 1
        todo = _section(desk, "applications")
        assert f'href="/applications/{application.id}"' in todo and "热线工单分拨揭榜" in todo
        assert 'id="desk-link"' in desk and 'aria-current="page"' in desk
        assert f"申请 #{application.id}" in todo  # the item's detail, in the reader's language
        op.get("/lang/en")
        english = _section(op.get("/desk").text, "applications")
        assert f"application #{application.id}" in english and "申请 #" not in english
        op.get("/lang/zh")

        # an action: redirect after the POST, its message on the next page, once
        done = op.post(f"/applications/{application.id}/decision", data={"decision": "approve"})
        assert done.status_code == 303
        shown = op.get(done.headers["location"]).text
        assert FLASH.findall(shown) == ["已通过该申请"]
        assert FLASH.findall(op.get(done.headers["location"]).text) == []  # shown once
        assert _count(op.get("/desk").text, "applications") == 0

        # a POST with no message of its own still says it was done, in the reader's language
        op.get("/lang/en")
        asked = op.post(f"/challenges/{draft.id}/transitions", data={"name": "publish"})
        assert asked.status_code == 200 and 'id="confirm-yes"' in asked.text  # not yet done
        db.refresh(draft)
        assert draft.state is ChallengeState.draft
        assert 'name="name" value="publish"' in asked.text
        published = op.post(
            f"/challenges/{draft.id}/transitions", data={"name": "publish", "confirmed": "yes"}
        )
        assert published.status_code == 303
        db.refresh(draft)
        assert draft.state is ChallengeState.open
        assert FLASH.findall(op.get(published.headers["location"]).text) == [
            "The challenge is now: Open for applications"
        ]

    with signed_in(live, world, "supplier_a") as supplier:
        mine = _section(supplier.get("/desk").text, "applications")
        assert f'href="/applications/{application.id}"' in mine and "审核通过" in mine
        assert 'href="/opportunities"' in supplier.get("/desk").text

    with signed_in(live, world, "demand") as demand:
        page = demand.get("/desk").text
        assert _count(page, "challenges") == 2
        assert f'href="/challenges/{challenge.id}"' in _section(page, "challenges")
        assert f'href="/scenarios/{challenge.scenario_id}"' in _section(page, "scenarios")

    with signed_in(live, world, "expert") as expert:
        page = expert.get("/desk").text
        assert _count(page, "review-confirm") == 0 and _count(page, "review-score") == 0

    with browser(live) as anonymous:
        assert anonymous.get("/desk").status_code in (303, 401)
