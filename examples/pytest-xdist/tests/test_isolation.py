"""What pg_mint promises this suite: its own database, built from the
current models, fresh at the start of the run."""
import os

from sqlalchemy import func, inspect, select, text

from app.db import engine
from app.models import AuditLog, metadata

WORKER = os.environ.get("PYTEST_XDIST_WORKER") or "main"


def test_engine_points_at_this_workers_database(fresh_database):
    with engine.connect() as conn:
        name = conn.execute(text("SELECT current_database()")).scalar_one()
    assert name == fresh_database
    assert engine.url.database == name
    assert os.environ["DATABASE_URL"] == os.environ["TEST_DATABASE_URL"]
    if WORKER != "main":
        assert name.endswith("_" + WORKER)


def test_schema_matches_models():
    assert set(inspect(engine).get_table_names()) == set(metadata.tables)


def test_only_this_worker_wrote_here(session):
    workers = session.execute(select(AuditLog.worker).distinct()).scalars().all()
    assert set(workers) <= {WORKER}


def test_database_is_not_a_template():
    with engine.connect() as conn:
        row = conn.execute(text("SELECT datistemplate, datallowconn FROM pg_database "
                                "WHERE datname = current_database()")).one()
    assert tuple(row) == (False, True)


def test_writes_are_committed_here(session):
    before = session.execute(select(func.count()).select_from(AuditLog)).scalar_one()
    session.add(AuditLog(worker=WORKER, action="probe", subject="commit"))
    session.commit()
    after = session.execute(select(func.count()).select_from(AuditLog)).scalar_one()
    assert after == before + 1
