"""Test helper: append which process ran a test in which database to
$PG_MINT_EVENTS (read by pg_mint's own test suite), and check that the
database is the one this process was given."""
import json
import os
import time

from django.db import connection


def log_test(name):
    with connection.cursor() as cur:
        cur.execute("SELECT current_database(), datistemplate FROM pg_database WHERE datname = current_database()")
        db, is_template = cur.fetchone()
    assert db == connection.settings_dict["NAME"], (db, connection.settings_dict["NAME"])
    assert not is_template
    events = os.environ.get("PG_MINT_EVENTS")
    if events:
        with open(events, "a") as f:
            f.write(json.dumps({"event": "test", "test": name, "database": db, "pid": os.getpid(),
                                "worker": os.environ.get("PYTEST_XDIST_WORKER", ""), "t": time.time()}) + "\n")
    return db
