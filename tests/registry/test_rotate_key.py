"""`mosu db rotate-key`: stored model keys re-encrypted from a previous secret key (e.g. one
the entropy rule now refuses) to the current one, all or nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mosu.cli import app as cli_app
from mosu.core.credentials import CredentialBox
from mosu.core.settings import secret_key_problem
from mosu.evals.netpolicy import STRICT
from mosu.permissions import Actor, Role
from mosu.registry.endpoints import create_endpoint, endpoint_api_key
from mosu.registry.models import ModelEndpoint
from mosu.registry.schemas import EndpointIn
from tests.conftest import TEST_SECRET, World

OLD = "a-real-secret-0123456789abcdef"
"""A key mosu accepted before the entropy rule: 30 characters."""


def _endpoint(db: Session, world: World, name: str, key: str, box: CredentialBox) -> int:
    data = EndpointIn(
        organisation_id=world.org_a,
        name=name,
        base_url="https://api.example.cn/v1",
        model_name="m",
        api_key=key,  # type: ignore[arg-type]
    )
    operator = Actor(user_id=world.user_ids["operator"], role=Role.operator)
    endpoint_id = create_endpoint(db, actor=operator, data=data, box=box, policy=STRICT).id
    db.commit()
    return endpoint_id


def _keys(db: Session, box: CredentialBox) -> dict[str, str | None]:
    db.expire_all()
    return {
        e.name: endpoint_api_key(e, box)
        for e in db.scalars(select(ModelEndpoint).order_by(ModelEndpoint.id))
    }


def _sealed(db: Session) -> list[bytes | None]:
    db.expire_all()
    return list(db.scalars(select(ModelEndpoint.api_key_encrypted).order_by(ModelEndpoint.id)))


def test_rotate_key_reencrypts_under_the_current_key(
    db: Session, world: World, database_url: str
) -> None:
    assert secret_key_problem(OLD) is not None
    old, new = CredentialBox(OLD), CredentialBox(TEST_SECRET)
    _endpoint(db, world, "甲", "sk-jia", old)
    _endpoint(db, world, "乙", "sk-yi", old)
    _endpoint(db, world, "丙", "sk-bing", new)  # already under the current key: kept
    env = {"MOSU_DATABASE_URL": database_url, "MOSU_SECRET_KEY": TEST_SECRET}
    runner = CliRunner()

    sealed = _sealed(db)
    wrong = runner.invoke(cli_app, ["db", "rotate-key"], env=env, input="not-the-old-key\n")
    assert wrong.exit_code == 1
    assert "未做任何修改" in "".join(wrong.output.split())
    assert _sealed(db) == sealed

    done = runner.invoke(cli_app, ["db", "rotate-key"], env=env, input=f"{OLD}\n")
    assert done.exit_code == 0, done.output
    assert "re-encrypted 2 stored model key(s)" in done.output
    assert _keys(db, new) == {"甲": "sk-jia", "乙": "sk-yi", "丙": "sk-bing"}

    again = runner.invoke(cli_app, ["db", "rotate-key"], env=env, input=f"{OLD}\n")
    assert again.exit_code == 0 and "re-encrypted 0" in again.output
