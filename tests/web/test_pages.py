"""Server-rendered pages over real HTTP: access, escaping, cookies, language and forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from mosu.deps import SESSION_COOKIE
from mosu.registry.ai_models import create_model
from mosu.registry.filings import create_filing
from mosu.registry.models import FilingKind, Modality
from mosu.registry.schemas import FilingIn, ModelIn
from tests.conftest import OPERATOR, LiveServer, World, credit_code, make_org
from tests.helpers.signin import browser, sign_in, signed_in

XSS = "<script>alert('x')</script>"


@pytest.fixture
def public(live: LiveServer) -> Iterator[httpx.Client]:
    with browser(live) as client:
        yield client


def _model(db: Session, organisation_id: int, name: str, **kw: object) -> int:
    data = ModelIn(organisation_id=organisation_id, name=name, modality=Modality.text, **kw)  # type: ignore[arg-type]
    return create_model(db, actor=OPERATOR, data=data).id


def test_public_pages_render(
    live: LiveServer, world: World, db: Session, public: httpx.Client
) -> None:
    model_id = _model(db, world.org_b, "乙言")
    create_filing(
        db,
        actor=OPERATOR,
        data=FilingIn(model_id=model_id, kind=FilingKind.beian, number="Shanghai-Yiyan-20240105"),
    )
    db.commit()
    for path in (
        "/",
        "/orgs",
        f"/orgs/{world.org_b}",
        "/models",
        f"/models/{model_id}",
        "/filings",
        "/login",
    ):
        response = public.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-CN">' in response.text
    overview = public.get("/").text
    assert 'type="application/json" id="chart-filings-data"' in overview
    plotly = re.search(
        r'data-plotly="(/static/vendor/plotly-cartesian\.min\.[0-9a-f]{12}\.js)"', overview
    )
    assert plotly is not None and public.get(plotly[1]).status_code == 200
    assert "Shanghai-Yiyan-20240105" in public.get("/filings").text
    assert public.get("/static/vendor/htmx.min.js").status_code == 200
    assert public.get("/static/mosu.css").status_code == 200


def test_missing_page_uses_the_layout(public: httpx.Client) -> None:
    response = public.get("/orgs/999999")
    assert response.status_code == 404
    assert "页面不存在" in response.text and 'class="topbar"' in response.text


def test_user_text_is_escaped(live: LiveServer, db: Session, public: httpx.Client) -> None:
    org_id = make_org(db, 40, f"恶意{XSS}公司", description=f"简介{XSS}", regions=[XSS])
    model_id = _model(db, org_id, f"m{XSS}", capability_tags=[XSS], description=XSS)
    db.commit()
    pages = [
        f"/orgs/{org_id}",
        "/orgs?q=恶意",
        f"/models/{model_id}",
        "/models",
        f"/orgs?q={XSS}",
    ]
    for path in pages:
        body = public.get(path).text
        assert XSS not in body, path
        assert "&lt;script&gt;alert(" in body, path


def test_login_sets_a_secure_session_cookie(live: LiveServer, world: World, app: FastAPI) -> None:
    hours = app.state.settings.session_hours
    with browser(live) as client:
        response = sign_in(client, "supplier_a", world.passwords["supplier_a"], "/orgs")
        assert response.status_code == 303
        assert response.headers["location"] == "/orgs"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        assert f"Max-Age={hours * 3600}" in cookie
        page = client.get("/account")
        assert page.status_code == 200
        assert "supplier_a" in page.text and "供给方" in page.text
        assert client.post("/logout").status_code == 303
        assert client.get("/account").status_code == 303


def test_sign_in_comes_back_to_the_page_and_its_query(
    live: LiveServer, world: World, public: httpx.Client
) -> None:
    response = public.get("/models/new", params={"organisation_id": str(world.org_a)})
    assert response.status_code == 303
    login = public.get(response.headers["location"])
    target = f"/models/new?organisation_id={world.org_a}"
    assert f'name="next" value="{target}"' in login.text
    signed = sign_in(public, "supplier_a", world.passwords["supplier_a"], target)
    assert signed.headers["location"] == target
    form = public.get(target).text
    assert f'<option value="{world.org_a}" selected>' in form


def test_login_failure_is_generic(live: LiveServer, world: World) -> None:
    with browser(live) as client:
        for username, password in (("supplier_a", "wrong-password"), ("nobody", "whatever-123")):
            response = sign_in(client, username, password)
            assert response.status_code == 401
            assert "用户名或密码错误" in response.text
            assert "set-cookie" not in response.headers


def test_login_next_is_never_off_site(live: LiveServer, world: World) -> None:
    with browser(live) as client:
        response = sign_in(client, "operator", world.passwords["operator"], "//evil.example/")
        assert response.headers["location"] == "/desk"  # the desk, never another site


def test_language_cookie_persists(live: LiveServer, world: World, public: httpx.Client) -> None:
    response = public.get("/lang/en", params={"next": "/orgs?tier=core"})
    assert response.status_code == 303
    assert response.headers["location"] == "/orgs?tier=core"
    assert "lang=en" in response.headers["set-cookie"]
    for path in ("/models", "/orgs", "/"):
        body = public.get(path).text
        assert '<html lang="en">' in body
        assert "Organisations" in body and "企业机构" not in body
    assert "Big Dipper (core)" in public.get("/orgs").text
    public.get("/lang/zh")
    assert "北斗七星" in public.get("/orgs").text
    assert public.get("/lang/fr").status_code == 404
    assert (
        public.get("/lang/en", params={"next": "https://evil.example"}).headers["location"] == "/"
    )


def test_operator_pages_refuse_others(live: LiveServer, world: World, public: httpx.Client) -> None:
    for path in ("/import", "/orgs/new"):
        response = public.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=" + quote(path, safe="")
    with signed_in(live, world, "supplier_a") as supplier:
        for path in ("/import", "/orgs/new"):
            response = supplier.get(path)
            assert response.status_code == 403
            assert "无权访问" in response.text
        assert supplier.post("/import", files={"file": ("a.csv", b"x")}).status_code == 403
        assert (
            supplier.post(
                "/overview/regional-total", data={"region": "上海", "total": "9"}
            ).status_code
            == 403
        )
    with signed_in(live, world, "operator") as operator:
        assert operator.get("/import").status_code == 200
        assert operator.get("/orgs/new").status_code == 200


def test_cross_site_post_is_refused(live: LiveServer, world: World) -> None:
    with signed_in(live, world, "operator") as operator:
        response = operator.post(
            "/account/tokens", data={"name": "x"}, headers={"Origin": "https://evil.example"}
        )
        assert response.status_code == 403


def test_htmx_search_returns_the_fragment(
    live: LiveServer, world: World, public: httpx.Client
) -> None:
    full = public.get("/orgs", params={"q": "大模型"})
    fragment = public.get("/orgs", params={"q": "大模型"}, headers={"HX-Request": "true"})
    assert "<html" in full.text and "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<section id="results"')
    names = re.findall(r'<a href="/orgs/\d+">([^<]+)</a>', fragment.text)
    assert names == ["乙大模型有限公司"]
    assert 'hx-get="/orgs"' in full.text


def test_filters_and_pagination(
    live: LiveServer, world: World, db: Session, public: httpx.Client
) -> None:
    for n in range(25):
        make_org(db, 100 + n, f"分页测试{n:02d}公司", resident=True)
    db.commit()
    first = public.get("/orgs", params={"q": "分页测试", "resident": "1"}).text
    assert "共 25 条" in first and "第 1 / 2 页" in first
    assert "page=2" in first and "resident=1" in first
    second = public.get("/orgs", params={"q": "分页测试", "resident": "1", "page": "2"}).text
    assert len(re.findall(r'<a href="/orgs/\d+">', second)) == 5
    core = public.get("/orgs", params={"tier": "core"}).text
    assert "甲智能科技有限公司" in core and "乙大模型有限公司" not in core


def test_contacts_only_for_members_and_operators(
    live: LiveServer, world: World, public: httpx.Client
) -> None:
    phone = "021-60000001"
    assert phone not in public.get(f"/orgs/{world.org_a}").text
    with signed_in(live, world, "supplier_b") as other:
        assert phone not in other.get(f"/orgs/{world.org_a}").text
    with signed_in(live, world, "supplier_a") as member:
        assert phone in member.get(f"/orgs/{world.org_a}").text
    with signed_in(live, world, "operator") as operator:
        assert phone in operator.get(f"/orgs/{world.org_a}").text


def test_member_edits_own_organisation_only(live: LiveServer, world: World) -> None:
    with signed_in(live, world, "supplier_a") as member:
        form = member.get(f"/orgs/{world.org_a}/edit").text
        assert 'name="credit_code"' not in form and 'name="tier"' not in form
        response = member.post(
            f"/orgs/{world.org_a}/edit",
            data={
                "layers": ["model", "application"],
                "description": "我们做大模型应用",
                "name_en": "A",
            },
        )
        assert response.status_code == 303
        page = member.get(f"/orgs/{world.org_a}").text
        assert "我们做大模型应用" in page and "北斗七星" in page
        assert member.get(f"/orgs/{world.org_b}/edit").status_code == 403
        assert (
            member.post(f"/orgs/{world.org_b}/edit", data={"layers": ["model"]}).status_code == 403
        )


def test_invalid_organisation_form_is_shown_again(live: LiveServer, world: World) -> None:
    with signed_in(live, world, "operator") as operator:
        response = operator.post(
            "/orgs/new",
            data={"name_zh": "新公司", "credit_code": "91310104MA0000001X", "tier": "core"},
        )
        assert response.status_code == 422
        assert "统一社会信用代码校验位错误" in response.text
        assert "至少选择一项" in response.text
        assert 'value="新公司"' in response.text
        good = operator.post(
            "/orgs/new",
            data={
                "name_zh": "新公司",
                "credit_code": credit_code(77),
                "tier": "core",
                "layers": ["compute"],
                "resident": "1",
                "resident_since": "2024-03-01",
                "regions": "上海，杭州",
            },
        )
        assert good.status_code == 303
        page = operator.get(good.headers["location"]).text
        assert "新公司" in page and "杭州" in page and "2024-03-01" in page
        clash = operator.post(
            "/orgs/new",
            data={"name_zh": "新公司", "credit_code": credit_code(78), "layers": ["compute"]},
        )
        assert clash.status_code == 422 and "已存在" in clash.text


def test_models_and_filings_forms(live: LiveServer, world: World) -> None:
    with signed_in(live, world, "supplier_a") as member:
        bad = member.post(
            "/models/new",
            data={"organisation_id": str(world.org_b), "name": "x", "modality": "text"},
        )
        assert bad.status_code == 403
        invalid = member.post(
            "/models/new",
            data={"organisation_id": str(world.org_a), "name": "", "modality": "text"},
        )
        assert invalid.status_code == 422 and "不能为空" in invalid.text
        created = member.post(
            "/models/new",
            data={
                "organisation_id": str(world.org_a),
                "name": "甲言大模型",
                "modality": "text",
                "open_weights": "1",
                "parameters_b": "7",
                "capability_tags": "对话、摘要",
            },
        )
        assert created.status_code == 303
        model_path = created.headers["location"]
        model_id = int(model_path.rsplit("/", 1)[1])
        assert "摘要" in member.get(model_path).text
        edited = member.post(
            f"{model_path}/edit",
            data={"name": "甲言大模型", "modality": "code", "description": "新版"},
        )
        assert edited.status_code == 303
        assert "新版" in member.get(model_path).text
        wrong_date = member.post(
            "/filings/new",
            data={"model_id": str(model_id), "kind": "beian", "number": "Shanghai-Jiayan-20240230"},
        )
        assert wrong_date.status_code == 422 and "无效" in wrong_date.text
        filed = member.post(
            "/filings/new",
            data={"model_id": str(model_id), "kind": "beian", "number": "Shanghai-Jiayan-20240220"},
        )
        assert filed.status_code == 303
        assert "Shanghai-Jiayan-20240220" in member.get(model_path).text
    with browser(live) as public:
        body = public.get("/models", params={"filed": "1"}).text
        assert "甲言大模型" in body


def test_regional_total_share(live: LiveServer, world: World, db: Session) -> None:
    model_id = _model(db, world.org_b, "乙言")
    create_filing(
        db,
        actor=OPERATOR,
        data=FilingIn(model_id=model_id, kind=FilingKind.beian, number="Shanghai-Yiyan-20240105"),
    )
    db.commit()
    with signed_in(live, world, "operator") as operator:
        response = operator.post("/overview/regional-total", data={"region": "上海", "total": "8"})
        assert response.status_code == 303
        page = operator.get("/").text
        assert "12.5%" in page and "占上海备案总数" in page
        assert (
            operator.post(
                "/overview/regional-total", data={"region": "上海", "total": "-1"}
            ).status_code
            == 422
        )


def test_account_tokens_and_endpoints(live: LiveServer, world: World) -> None:
    with signed_in(live, world, "supplier_a") as member:
        created = member.post("/account/tokens", data={"name": "笔记本"})
        token = re.search(r'id="new-token">(mosu_[^<]+)<', created.text)
        assert token is not None
        page = member.get("/account").text
        assert token.group(1) not in page and "笔记本" in page
        token_id = re.findall(r"/account/tokens/(\d+)/revoke", page)[0]
        assert member.post(f"/account/tokens/{token_id}/revoke").status_code == 303
        assert "已撤销" in member.get("/account").text
        secret = "sk-very-secret-key-123"
        response = member.post(
            "/account/endpoints",
            data={
                "name": "甲接入",
                "base_url": "http://api.example.cn/v1",
                "model_name": "m",
                "api_key": secret,
            },
        )
        assert response.status_code == 303
        page = member.get("/account").text
        assert "甲接入" in page and "已设置密钥" in page and secret not in page
        invalid = member.post(
            "/account/endpoints", data={"name": "x", "base_url": "ftp://x", "model_name": "m"}
        )
        assert invalid.status_code == 422 and "http://" in invalid.text
        private = member.post(
            "/account/endpoints",
            data={"name": "y", "base_url": "http://127.0.0.1:5432/v1", "model_name": "m"},
        )
        assert private.status_code == 422
        assert "接入点地址不被允许：127.0.0.1 是本机回环地址，接入点不能使用" in private.text
    with signed_in(live, world, "demand") as demand:
        assert 'id="endpoints"' not in demand.get("/account").text


def test_import_csv_reports_bad_rows(live: LiveServer, world: World) -> None:
    csv = (
        "名称,统一社会信用代码,产业链层级\n"
        f"导入甲公司,{credit_code(201)},模型\n"
        "导入乙公司,91310104MA0000001X,模型\n"
    ).encode()
    with signed_in(live, world, "operator") as operator:
        response = operator.post(
            "/import", data={"kind": "orgs"}, files={"file": ("orgs.csv", csv, "text/csv")}
        )
        assert response.status_code == 422
        rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td>', response.text)
        assert rows == [("3", "统一社会信用代码")]
        assert "未写入任何数据" in response.text
        upload_id = re.search(r'name="upload_id" value="([^"]+)"', response.text)
        assert upload_id is not None
        again = operator.post(
            "/import", data={"kind": "orgs", "upload_id": upload_id.group(1), "drop_invalid": "1"}
        )
        assert again.status_code == 200 and "已导入有效行" in again.text
        assert "导入甲公司" in operator.get("/orgs", params={"q": "导入"}).text
        expired = operator.post("/import", data={"kind": "orgs", "upload_id": upload_id.group(1)})
        assert expired.status_code == 422
