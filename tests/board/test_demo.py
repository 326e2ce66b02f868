"""The demo board (fictional) loads through the board's rules and matches sensibly."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.accounts.service import actor_for
from mosu.board import service
from mosu.demo.board import load_board
from mosu.demo.loader import load_community
from mosu.notifications.service import list_notifications, notice_text
from mosu.permissions import PUBLIC
from mosu.scenarios.models import Scenario


def test_demo_board_recommends_the_suppliers_written_for_it(db: Session) -> None:
    load_community(db)
    assert load_board(db) == 6
    db.commit()
    expected = {
        "12345 热线来电诉求智能分类与派单": "上海明犀智能客服技术有限公司",
        "门诊预问诊与病历初稿生成": "上海知微医联智能科技有限公司",
        "精密零件表面缺陷视觉检测": "苏州匠数工业智能有限公司",
    }
    for title, supplier in expected.items():
        scenario = db.scalars(select(Scenario).where(Scenario.title == title)).one()
        recs = service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id, k=3)
        assert supplier in [s.organisation_name for s in recs.suppliers], title
    demand = db.scalars(select(User).where(User.username == "demand1")).one()
    notes = list_notifications(db, actor=actor_for(demand))
    assert len(notes) == 1 and "徐汇星河智算科技有限公司" in notice_text(notes[0], "zh")[0]
