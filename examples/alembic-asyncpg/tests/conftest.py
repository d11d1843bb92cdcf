"""The pg_mint plugin has pointed DATABASE_URL at this worker's database
before this file is imported, so importing the app here is safe."""
import asyncio
import json
import os
import time

import pytest
from sqlalchemy import func, select, text

from app.db import Session
from app.models import TestLog

WORKER = os.environ.get("PYTEST_XDIST_WORKER") or "main"


def run(coro):
    return asyncio.run(coro)


async def _database_state():
    async with Session() as s:
        name = (await s.execute(text("SELECT current_database()"))).scalar_one()
        rows = (await s.execute(select(func.count()).select_from(TestLog))).scalar_one()
    return name, rows


@pytest.fixture(scope="session", autouse=True)
def fresh_database():
    """Every run starts from a fresh clone: nothing an earlier run wrote."""
    name, leftovers = run(_database_state())
    events = os.environ.get("PG_MINT_EVENTS")
    if events:
        with open(events, "a") as f:
            f.write(json.dumps({"event": "session", "worker": WORKER, "database": name,
                                "leftover_rows": leftovers, "pid": os.getpid(), "t": time.time()}) + "\n")
    assert leftovers == 0, "database %s was not fresh" % name
    return name


async def _log(test):
    async with Session() as s:
        s.add(TestLog(worker=WORKER, test=test))
        await s.commit()
        others = (await s.execute(select(TestLog.worker).where(TestLog.worker != WORKER))).scalars().all()
    return others


@pytest.fixture(autouse=True)
def log_test(request):
    """After each test, log it in this worker's database, and check that no
    other worker's row is visible there."""
    yield
    others = run(_log(request.node.name))
    assert others == [], "rows of other workers visible: %r" % sorted(set(others))
