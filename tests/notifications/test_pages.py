"""The notice pages over HTTP: the inbox in the page's language with Beijing times, the unread
filter, marking read on the way to the link, and the notice settings saved."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import NoticePreference, Notification, User
from mosu.notifications import service
from tests.conftest import LiveServer, World, on_primary_database
from tests.helpers.signin import signed_in

pytestmark = on_primary_database


def test_the_inbox_and_the_notice_settings(db: Session, world: World, live: LiveServer) -> None:
    a = world.user_ids["supplier_a"]
    (first,) = service.notify(
        db,
        kind="entry_won",
        params={"challenge": "热线分拨", "entry": "甲队"},
        link="/challenges",
        user_ids=[a],
    )
    first.created_at = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
    service.notify(
        db,
        kind="review_invited",
        params={"challenge": "另一榜"},
        user_ids=[world.user_ids["expert"]],
    )
    db.commit()
    with signed_in(live, world, "supplier_a") as client:
        page = client.get("/notifications").text
        assert "恭喜！“甲队”在“热线分拨”中揭榜成功" in page
        assert "2026年3月2日 00:30" in page and "另一榜" not in page
        client.cookies.set("lang", "en")
        english = client.get("/notifications").text
        assert "Congratulations! “甲队” won “热线分拨”" in english and "2026-03-02 00:30" in english
        read = client.post(f"/notifications/{first.id}/read")
        assert read.status_code == 303 and read.headers["location"] == "/challenges"
        assert "No unread notices" in client.get("/notifications?unread=true").text
        # someone else's notice does not exist for them
        other = db.scalars(select(Notification).where(Notification.user_id != a)).one()
        assert client.post(f"/notifications/{other.id}/read").status_code == 404

        settings_page = client.get("/account/notices")
        assert settings_page.status_code == 200 and 'name="mode_race"' in settings_page.text
        bad = client.post("/account/notices", data={"email": "not an address"})
        assert bad.status_code == 422
        saved = client.post(
            "/account/notices",
            data={
                "email": "a@example.cn",
                "language": "en",
                "mode_race": "digest",
                "mode_vouchers": "off",
                "mode_applications": "each",
            },
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/account/notices?saved=1"
    db.expire_all()
    user = db.get(User, a)
    assert user is not None and (user.email, user.language) == ("a@example.cn", "en")
    chosen = {
        p.topic: (p.email, p.digest)
        for p in db.scalars(select(NoticePreference).where(NoticePreference.user_id == a))
    }
    assert chosen["race"] == (True, True)
    assert chosen["vouchers"] == (False, False)
    assert chosen["applications"] == (True, False)
