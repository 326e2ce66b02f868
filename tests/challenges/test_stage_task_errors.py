"""A stage whose task has an invalid parser regex is refused with 422 and the field named,
not a server error."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.conftest import LiveServer, World, client_for
from tests.helpers.races import future_window, racing_challenge


def test_an_invalid_parser_regex_is_refused_with_422(
    db: Session, world: World, live: LiveServer
) -> None:
    race = racing_challenge(db, world)
    db.commit()
    body = {
        "name": "初赛",
        "task": {
            "prompt": {"template": "{{ 标题 }}"},
            "parser": {"name": "regex", "pattern": "部门[:：(.+)"},
            "scorers": ["accuracy"],
        },
        "dataset_version_id": race.version.id,
        "mode": "endpoint",
        **future_window(),
        "cut_rule": "top_k",
        "cut_value": 1,
    }
    with client_for(live, world, "operator") as operator:
        answer = operator.post(f"/challenges/{race.challenge.id}/race/stages", json=body)
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "race.invalid_task"
        message = error["message"]
        assert message.startswith(
            "阶段任务不合法：task: parser.pattern: invalid regular expression '部门[:：(.+)': "
        )
        assert "unterminated character set" in message
        assert operator.get(f"/challenges/{race.challenge.id}/race").json()["stages"] == []
