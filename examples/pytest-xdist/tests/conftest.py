"""Fixtures of the example suite.  The root conftest.py has already pointed
DATABASE_URL at this worker's database, so importing the app here is safe."""
import json
import os
import time
import zlib

import pytest
from sqlalchemy import func, select, text

from app.db import SessionLocal, engine
from app.models import AuditLog

WORKER = os.environ.get("PYTEST_XDIST_WORKER") or "main"


@pytest.fixture(scope="session", autouse=True)
def fresh_database():
    """Every run starts from a fresh clone: nothing left by an earlier run."""
    with engine.connect() as conn:
        dbname = conn.execute(text("SELECT current_database()")).scalar_one()
        leftovers = conn.execute(select(func.count()).select_from(AuditLog)).scalar_one()
    events = os.environ.get("PG_MINT_EVENTS")
    if events:
        with open(events, "a") as f:
            f.write(json.dumps({"event": "session", "worker": WORKER, "database": dbname,
                                "leftover_rows": leftovers, "pid": os.getpid(),
                                "t": time.time()}) + "\n")
    assert leftovers == 0, "database %s was not fresh" % dbname
    yield dbname


@pytest.fixture
def session():
    with SessionLocal() as s:
        yield s
        s.rollback()


@pytest.fixture
def uniq(request):
    """A short value unique to this test, for columns with UNIQUE constraints."""
    return "t%08x" % zlib.crc32(request.node.nodeid.encode())


@pytest.fixture(autouse=True)
def audit(request):
    """After every test, log it under this worker's name, committed; and check
    that this database holds no row logged by another worker."""
    yield
    with SessionLocal() as s:
        s.add(AuditLog(worker=WORKER, action="test", subject=request.node.name[:120]))
        s.commit()
        others = s.execute(select(AuditLog.worker).where(AuditLog.worker != WORKER)).scalars().all()
    assert others == [], "rows written by other workers are visible: %r" % sorted(set(others))


def pytest_collection_modifyitems(config, items):
    """CI sharding: with SHARD_TOTAL=N and SHARD_INDEX=i, keep only the tests
    whose node id hashes to i (stable across processes and machines, so every
    xdist worker of a shard collects the same set)."""
    total = int(os.environ.get("SHARD_TOTAL") or 1)
    if total <= 1:
        return
    index = int(os.environ["SHARD_INDEX"])
    keep, drop = [], []
    for item in items:
        (keep if zlib.crc32(item.nodeid.encode()) % total == index else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
