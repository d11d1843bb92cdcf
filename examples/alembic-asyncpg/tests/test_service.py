import os

import asyncpg
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from app import service
from app.db import Session, engine
from tests.conftest import WORKER, run

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_url_keeps_driver_and_options(fresh_database):
    url = os.environ["DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://")
    assert url.endswith("/%s?ssl=disable" % fresh_database)
    assert engine.url.database == fresh_database
    if WORKER != "main":
        assert fresh_database.endswith("_" + WORKER)


def test_schema_is_at_head():
    head = ScriptDirectory.from_config(Config(os.path.join(HERE, "alembic.ini"))).get_current_head()

    async def version():
        async with Session() as s:
            return (await s.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert run(version()) == head


def test_data_migration_seeded_roles():
    assert run(service.role_names()) == ["admin", "member", "viewer"]


def test_create_users():
    async def scenario():
        before = await service.count_users()
        uid = await service.create_user("a-%s@example.com" % WORKER)
        await service.add_note(uid, "hello")
        await service.create_user("b-%s@example.com" % WORKER, role="admin")
        return before, await service.count_users()
    before, after = run(scenario())
    assert after == before + 2


def test_unique_email_enforced():
    async def scenario():
        await service.create_user("dup-%s@example.com" % WORKER)
        try:
            await service.create_user("dup-%s@example.com" % WORKER)
        except Exception as e:  # IntegrityError from asyncpg
            return type(e).__name__
        return None
    assert run(scenario()) == "IntegrityError"


def _fresh(db, label):
    async def scenario():
        # asyncpg directly, on the fresh database's libpq URL
        conn = await asyncpg.connect(dsn=None, **_asyncpg_args(db.url))
        try:
            name = await conn.fetchval("SELECT current_database()")
            users = await conn.fetchval("SELECT count(*) FROM users")
            logged = await conn.fetchval("SELECT count(*) FROM test_log")
            roles = await conn.fetchval("SELECT count(*) FROM roles")
            await conn.execute("INSERT INTO roles (name) VALUES ($1)", "fresh-" + label)
        finally:
            await conn.close()
        return name, users, logged, roles
    name, users, logged, roles = run(scenario())
    assert name == db.name
    assert (users, logged, roles) == (0, 0, 3), "%s saw rows of other tests" % label


def _asyncpg_args(url):
    from sqlalchemy.engine import make_url
    u = make_url(url)
    return dict(host=u.host, port=u.port, user=u.username, password=u.password, database=u.database,
                ssl=u.query.get("ssl"))


def test_fresh_database_a(mint_fresh_database):
    _fresh(mint_fresh_database, "a")


def test_fresh_database_b(mint_fresh_database):
    _fresh(mint_fresh_database, "b")
