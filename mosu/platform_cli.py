"""The platform's own commands: database, users, tokens, import/export, worker, serve, demo.

Loaded by the root in :mod:`mosu.cli` only when one of them runs."""

from __future__ import annotations

import getpass
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu import migrate
from mosu.accounts.models import User
from mosu.accounts.service import (
    create_api_token,
    create_user,
    end_all_sessions,
    set_active,
    set_password,
)
from mosu.cli_common import CLI_ACTOR, both_languages, fail, find_org, load_settings
from mosu.core.db import make_engine, make_sessionmaker, transaction
from mosu.core.errors import MosuError
from mosu.core.limits import ReadLimits
from mosu.core.settings import Settings
from mosu.permissions import Role

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="数据库 / database schema.", no_args_is_help=True)
user_app = typer.Typer(help="用户 / users.", no_args_is_help=True)
token_app = typer.Typer(help="API 令牌 / API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

console = Console()
Kind = Literal["orgs", "models"]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """把数据库升级到最新结构 / bring the database to the newest schema."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    console.print(f"database at {migrate.current_revision(engine)} (was {before or 'empty'})")


@db_app.command("current")
def db_current() -> None:
    """显示数据库结构版本 / show the database's schema revision."""
    engine = make_engine(load_settings().database_url)
    console.print(migrate.current_revision(engine) or "empty")


@db_app.command("backup")
def db_backup(
    out: Annotated[Path, typer.Argument(help="备份文件（不可已存在）/ backup file to write")],
) -> None:
    """在线备份数据库（SQLite 或 pg_dump）/ back up the database while it runs."""
    from mosu.backup import backup

    try:
        info = backup(load_settings().database_url, out)
    except MosuError as exc:
        raise fail(both_languages(exc.text)) from exc
    console.print(f"wrote {info.kind} backup {out} at schema revision {info.revision or 'none'}")


@db_app.command("restore")
def db_restore(
    backup_file: Annotated[Path, typer.Argument(help="mosu db backup 写出的文件 / a backup")],
) -> None:
    """把备份恢复到一个空数据库 / restore a backup into a fresh, empty database."""
    from mosu.backup import restore

    try:
        info = restore(load_settings().database_url, backup_file)
    except MosuError as exc:
        raise fail(both_languages(exc.text)) from exc
    console.print(f"restored {backup_file} (schema revision {info.revision})")
    if info.revision != migrate.head_revision():
        console.print("older schema: run `mosu db upgrade` before serving")


@db_app.command("rotate-key")
def db_rotate_key(
    old_key: Annotated[
        str,
        typer.Option(
            prompt="旧的 MOSU_SECRET_KEY / the previous MOSU_SECRET_KEY",
            hide_input=True,
            help="省略则交互输入（或从标准输入读取）/ prompted (or read from stdin) when omitted",
        ),
    ],
) -> None:
    """用新的 MOSU_SECRET_KEY 重新加密已存的模型密钥 / re-encrypt stored model keys under the
    new MOSU_SECRET_KEY."""
    from mosu.core.credentials import CredentialBox
    from mosu.registry.endpoints import reseal_endpoint_keys

    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            try:
                count = reseal_endpoint_keys(
                    session, old=CredentialBox(old_key), new=CredentialBox(settings.secret_key)
                )
            except MosuError as exc:
                raise fail(both_languages(exc.text)) from exc
            session.commit()
    finally:
        engine.dispose()
    console.print(f"re-encrypted {count} stored model key(s) under the current MOSU_SECRET_KEY")


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[Role, typer.Option(help="operator | demand | supplier | expert")],
    org: Annotated[str | None, typer.Option(help="组织名称、信用代码或编号")] = None,
    display_name: Annotated[str, typer.Option()] = "",
    password: Annotated[
        str | None, typer.Option(help="省略则交互输入 / prompted when omitted")
    ] = None,
) -> None:
    """创建用户（首位运营方用它开通）/ create a user, e.g. the first operator."""
    settings = load_settings()
    organisation_id = find_org(org, settings) if org else None
    if password is None:
        password = getpass.getpass("密码 / password: ")
        if password != getpass.getpass("再输一次 / again: "):
            raise fail("两次输入不一致 / passwords differ")
    factory = make_sessionmaker(make_engine(settings.database_url))
    try:
        with transaction(factory) as session:
            user = create_user(
                session,
                username=username,
                password=password,
                role=role,
                organisation_id=organisation_id,
                display_name=display_name,
            )
            console.print(f"created user {user.username} ({user.role.value}), id {user.id}")
    except MosuError as exc:
        raise fail(both_languages(exc.text)) from exc


def _ask_password() -> str:
    password = getpass.getpass("新密码 / new password: ")
    if password != getpass.getpass("再输一次 / again: "):
        raise fail("两次输入不一致 / passwords differ")
    return password


def _with_user(username: str, change: Callable[[Session, User], object]) -> None:
    """Run ``change`` on ``username`` in one transaction; a refusal exits with its message."""
    factory = make_sessionmaker(make_engine(load_settings().database_url))
    try:
        with transaction(factory) as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise fail(f"用户不存在 / no such user: {username}")
            change(session, user)
    except MosuError as exc:
        raise fail(both_languages(exc.text)) from exc


@user_app.command("password")
def user_password(
    username: str,
    password: Annotated[
        str | None, typer.Option(help="省略则交互输入 / prompted when omitted")
    ] = None,
) -> None:
    """重置用户密码，并结束其所有会话与令牌 / set a user's password; their sessions and
    API tokens end."""
    new = password if password is not None else _ask_password()
    _with_user(username, lambda session, user: set_password(session, user=user, password=new))
    console.print(f"password of {username} changed; their sessions and tokens have ended")


@user_app.command("deactivate")
def user_deactivate(username: str) -> None:
    """停用用户：不能再登录，会话结束、令牌撤销 / deactivate a user: no sign-in, sessions
    ended, tokens revoked."""
    _with_user(
        username,
        lambda session, user: set_active(session, actor=CLI_ACTOR, user=user, active=False),
    )
    console.print(f"deactivated {username}")


@user_app.command("reactivate")
def user_reactivate(username: str) -> None:
    """恢复已停用的用户 / reactivate a deactivated user."""
    _with_user(
        username,
        lambda session, user: set_active(session, actor=CLI_ACTOR, user=user, active=True),
    )
    console.print(f"reactivated {username}")


@user_app.command("logout-everywhere")
def user_logout_everywhere(username: str) -> None:
    """结束用户的所有会话并撤销全部令牌 / end all of a user's sessions and revoke their
    API tokens."""
    _with_user(username, lambda session, user: end_all_sessions(session, user_id=user.id))
    console.print(f"signed {username} out everywhere")


@token_app.command("create")
def token_create(
    username: str, name: Annotated[str, typer.Option(help="令牌用途")] = "cli"
) -> None:
    """为用户签发 API 令牌（只显示一次）/ issue an API token, shown once."""
    settings = load_settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    with transaction(factory) as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise fail(f"用户不存在 / no such user: {username}")
        _, token = create_api_token(session, user_id=user.id, name=name)
    console.print(token, soft_wrap=True)


def _print_report(report: object) -> None:
    from mosu.registry.imports import ImportReport

    assert isinstance(report, ImportReport)
    if report.encoding:
        console.print(f"编码 / encoding: {report.encoding}")
    if report.problems:
        table = Table("行 row", "列 column", "原因 reason", title="问题 / problems")
        for p in report.problems:
            table.add_row(str(p.row), p.column, p.reason)
        console.print(table)
    console.print(
        f"{report.total_rows} 行 rows, {report.valid_rows} 有效 valid, "
        f"{report.written} 已写入 written, {len(report.dropped_rows)} 已丢弃 dropped"
    )


@app.command("import")
def import_cmd(
    kind: Annotated[Kind, typer.Argument(help="orgs | models")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    drop_invalid: Annotated[
        bool, typer.Option(help="丢弃有问题的行，写入其余 / write the valid rows only")
    ] = False,
    sheet: Annotated[str | None, typer.Option(help="xlsx 工作表 / sheet name")] = None,
) -> None:
    """从 xlsx 或 CSV 批量导入；有错则什么都不写 / bulk import; nothing is written on error."""
    from mosu.registry.imports import import_table

    settings = load_settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as session:
        report = import_table(
            session,
            actor=CLI_ACTOR,
            kind=kind,
            filename=file.name,
            content=file.read_bytes(),
            drop_invalid=drop_invalid,
            sheet=sheet,
            limits=ReadLimits.from_settings(settings),
        )
        if report.committed:
            session.commit()
    _print_report(report)
    if not report.committed:
        raise fail("未写入任何数据 / nothing was written")


@app.command("export")
def export_cmd(
    kind: Annotated[Kind, typer.Argument(help="orgs | models")],
    file: Annotated[Path, typer.Argument(help="*.xlsx 或 *.csv", dir_okay=False)],
) -> None:
    """导出为 xlsx 或 CSV（防公式注入）/ export as xlsx or CSV, safe against formula injection."""
    from mosu.registry.exports import export_table

    suffix = file.suffix.lower().lstrip(".")
    if suffix not in ("xlsx", "csv"):
        raise fail("文件名须以 .xlsx 或 .csv 结尾 / the file must end in .xlsx or .csv")
    settings = load_settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as session:
        data = export_table(session, actor=CLI_ACTOR, kind=kind, fmt=suffix)  # type: ignore[arg-type]
    file.write_bytes(data)
    console.print(f"wrote {file} ({len(data):,} bytes)")


def _observe(settings: Settings, *, serving: bool) -> None:
    """Configure the logs, and share metrics between processes where several report them:
    several web processes (``MOSU_WEB_WORKERS``), or ``MOSU_METRICS_DIR`` set (e.g. for a
    ``mosu worker`` beside the web processes)."""
    from mosu.core import logs, metrics

    logs.configure(settings.log_format, settings.log_level)
    shared = settings.metrics_dir
    if shared is None and serving and settings.web_workers > 1:
        shared = settings.data_dir / "metrics"
    if shared is not None:  # this process records too when its own workers run jobs
        here = not serving or settings.embedded_worker
        metrics.use_directory(shared, clear=serving, here=here)


def _serve(settings: Settings) -> None:
    from contextlib import ExitStack

    with ExitStack() as stack:
        if settings.demo:  # the demo's fake model endpoints serve as long as the site does
            from mosu.demo.endpoints import keep_demo_endpoints

            engine = make_engine(settings.database_url)
            stack.callback(engine.dispose)
            served = stack.enter_context(keep_demo_endpoints(engine))
            if served is not None:
                console.print(
                    f"演示模型端点 / demo model endpoints: {served.steady} "
                    f"(失败一部分调用的 / failing a share of calls: {served.flaky}); "
                    f"模型名 / model names: {', '.join(served.model_names)} or any other"
                )
                if served.vision:
                    console.print(f"演示视觉模型端点 / demo vision endpoint: {served.vision}")
        _serve_web(settings)


def _serve_web(settings: Settings) -> None:
    from mosu.app import create_app, settle
    from mosu.core.logs import uvicorn_log_config
    from mosu.startup import run_in_thread

    _observe(settings, serving=True)
    log_config = uvicorn_log_config(settings.log_format, settings.log_level)
    pool = run_in_thread(settings) if settings.embedded_worker else None
    try:
        if settings.web_workers > 1:  # each process builds the app from the environment
            for key in Settings.env_names():
                os.environ.pop(key, None)
            os.environ.update(settings.to_env())
            uvicorn.run(
                "mosu.app:from_env",
                factory=True,
                workers=settings.web_workers,
                host=settings.host,
                port=settings.port,
                log_config=log_config,
                access_log=False,  # mosu's own access lines carry the request id
            )
        else:
            application = create_app(settings)
            settle()
            uvicorn.run(
                application,
                host=settings.host,
                port=settings.port,
                log_config=log_config,
                access_log=False,  # mosu's own access lines carry the request id
            )
    finally:
        if pool is not None:
            pool.stop()


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="同时运行的任务数 / jobs at once (MOSU_WORKER_CONCURRENCY)")
    ] = None,
    kinds: Annotated[
        list[str] | None, typer.Option("--kind", help="只做这些类型 / only these job kinds")
    ] = None,
    imports: Annotated[
        list[str] | None,
        typer.Option("--import", help="导入注册处理器的模块 / a module that registers handlers"),
    ] = None,
    poll: Annotated[float, typer.Option(help="队列空时的轮询间隔（秒）/ idle poll seconds")] = 1.0,
) -> None:
    """运行任务工作进程（可多机多进程）/ run a job worker; run as many as you like."""
    import importlib
    import signal

    from mosu.core.credentials import CredentialBox
    from mosu.evals.netpolicy import AddressPolicy
    from mosu.jobs.beats import periodic_jobs
    from mosu.jobs.worker import HANDLERS, make_pool
    from mosu.registry.endpoints import endpoint_secrets
    from mosu.startup import load_registrations

    settings = load_settings()
    engine = make_engine(settings.database_url)
    if migrate.current_revision(engine) != migrate.head_revision():
        raise fail("数据库结构不是最新，请先运行 mosu db upgrade / run `mosu db upgrade` first")
    _observe(settings, serving=False)
    load_registrations()
    for module in imports or []:
        importlib.import_module(module)
    pool = make_pool(
        engine,
        concurrency=concurrency or settings.worker_concurrency,
        kinds=kinds,
        lease_seconds=settings.job_lease_seconds,
        poll_seconds=poll,
        data_dir=settings.data_dir,
        secrets=endpoint_secrets(engine, CredentialBox(settings.secret_key)),
        ray_address=settings.ray_address,
        eval_loop=settings.eval_loop,
        address_policy=AddressPolicy(allow_private=settings.allow_private_endpoints),
        settings=settings,
        periodic=periodic_jobs(settings),
    )
    unknown = sorted(set(kinds or []) - set(HANDLERS))
    if unknown:
        raise fail(f"没有这些类型的处理器 / no handler for: {', '.join(unknown)}")

    def shutdown(signum: int, _frame: object) -> None:
        for w in pool.workers:
            w.stop()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    console.print(
        f"worker {pool.workers[0].worker_id.rsplit('/', 1)[0]}: {len(pool.workers)} at once, "
        f"kinds {', '.join(pool.workers[0].kinds)}"
    )
    pool.start().join()
    engine.dispose()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="默认 MOSU_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="默认 MOSU_PORT")] = None,
    workers: Annotated[
        int | None, typer.Option(help="网站进程数，默认 MOSU_WEB_WORKERS / web processes")
    ] = None,
) -> None:
    """启动网站与 API / serve the web UI and the API."""
    overrides: dict[str, object] = {}
    if workers is not None:
        overrides["web_workers"] = workers
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = load_settings(**overrides)
    engine = make_engine(settings.database_url)
    if migrate.current_revision(engine) != migrate.head_revision():
        raise fail("数据库结构不是最新，请先运行 mosu db upgrade / run `mosu db upgrade` first")
    engine.dispose()
    _serve(settings)


@app.command()
def demo(
    database: Annotated[
        Path, typer.Option(help="演示数据库文件，每次重建 / rebuilt on every run")
    ] = Path("mosu-demo.db"),
    serve_web: Annotated[
        bool, typer.Option("--serve/--no-serve", help="加载后启动网站 / serve after loading")
    ] = True,
) -> None:
    """建一个演示社区并启动网站 / build a demo community and serve it."""
    from mosu.demo.board import load_board
    from mosu.demo.challenge import build_demo_challenges
    from mosu.demo.loader import load_community
    from mosu.demo.race import board_table

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    data_dir = database.with_name(f"{database.stem}-data")
    shutil.rmtree(data_dir, ignore_errors=True)
    settings = load_settings(demo=True, database_url=f"sqlite:///{database}", data_dir=data_dir)
    engine = make_engine(settings.database_url)
    with console.status("建库 / creating the database…"):
        migrate.upgrade(engine)
    with (
        console.status("载入演示社区 / loading the demo community…"),
        transaction(make_sessionmaker(engine)) as session,
    ):
        summary = load_community(session)
        scenarios = load_board(session)
    console.print(
        f"[bold]演示社区（虚构数据）/ demo community (fictional data)[/bold]: "
        f"{summary.organisations} 组织 organisations, {summary.models} 模型 models, "
        f"{summary.filings} 备案登记 filings, {scenarios} 应用场景 scenarios on the board"
    )
    console.print(
        "揭榜挂帅演示 / demo challenge: 热线工单智能分拨 — a double-blind panel of 5 fictional "
        "experts scores the applications, then 2 baselines and 3 shortlisted suppliers' fake "
        "endpoints (one failing a share of calls) race in two stages"
    )
    built = build_demo_challenges(engine, settings, console=console)
    engine.dispose()
    console.print(board_table(built.final_board, "决赛最终榜单 / final leaderboard"))
    for name, why in built.cut:
        console.print(f"淘汰 / cut: {name} — {why}")
    console.print(built.combined)
    console.print(f"[bold]揭榜成功 / winner: {built.winner}[/bold]")
    url = f"http://{settings.host}:{settings.port}"
    console.print(
        f"已结束的榜单 / finished challenge: {url}/challenges/{built.finished_id} "
        f"(赛马 race: {url}/challenges/{built.finished_id}/race)\n"
        f"专家评审结果 / panel results: {url}/challenges/{built.finished_id}/panel-results\n"
        f"待揭榜 / open for applications: {url}/challenges/{built.open_id} "
        f"(评审专家组已抽取，待确认 / its panel drawn, waiting: "
        f"{url}/challenges/{built.open_id}/panel)\n"
        f"视觉赛马（零件缺陷识别，虚构零件图）/ vision race (part defects, fictional photos): "
        f"{url}/challenges/{built.vision_id}/race (报告 report: "
        f"{url}/challenges/{built.vision_id}/race/report)"
    )
    table = Table("用户名 username", "密码 password", "角色 role", title="演示账号 / demo logins")
    for username, password, role in [*summary.users, *built.users]:
        table.add_row(username, password, role)
    console.print(table)
    console.print(
        f"打开 / open [bold cyan]{url}[/bold cyan]  (运营方 operator: operator / {summary.users[0][1]})"
    )
    console.print(
        f"竞技场演示 / demo arena (虚构答复、模拟投票 / fictional replies, simulated votes): "
        f"{url}/arena"
    )
    console.print(
        f"以后再启动 / to serve it again: MOSU_DEMO=1 MOSU_DATABASE_URL=sqlite:///{database} "
        f"MOSU_DATA_DIR={data_dir} mosu serve",
        soft_wrap=True,
    )
    if serve_web:
        _serve(settings)
