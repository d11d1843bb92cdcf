"""A database of its own for one test: the plugin's mint_fresh_database
fixture clones the template again for every test that asks for it."""
import os

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from app.models import AuditLog

WORKER = os.environ.get("PYTEST_XDIST_WORKER") or "main"


def _use_fresh(db, label):
    engine = create_engine(db.url, poolclass=NullPool, future=True)
    try:
        with engine.begin() as conn:
            name = conn.execute(text("SELECT current_database()")).scalar_one()
            rows = conn.execute(select(func.count()).select_from(AuditLog)).scalar_one()
            conn.execute(AuditLog.__table__.insert().values(worker=WORKER, action="fresh", subject=label))
    finally:
        engine.dispose()
    assert name == db.name != os.environ["DATABASE_URL"].rsplit("/", 1)[-1]
    assert rows == 0, "%s saw %d rows written by other tests" % (label, rows)


def test_fresh_database_one(mint_fresh_database):
    _use_fresh(mint_fresh_database, "one")


def test_fresh_database_two(mint_fresh_database):
    _use_fresh(mint_fresh_database, "two")


def test_fresh_database_three(mint_fresh_database):
    _use_fresh(mint_fresh_database, "three")
