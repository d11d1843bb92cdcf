"""The stock path for bench/python_frameworks.py: what an Alembic project
does without pg_mint -- every xdist worker (or the single process) drops and
creates its own database and runs `alembic upgrade head` in it, before the
test modules are imported.  Loaded with `-p stock_alembic` (PYTHONPATH=bench)
and `--no-mint`."""
import os
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy.engine import make_url


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    ns = early_config.known_args_namespace
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker and getattr(ns, "numprocesses", None):
        return  # the xdist controller
    url = make_url(os.environ["DATABASE_URL"])
    db = "%s_%s" % (url.database, worker) if worker else url.database
    with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname="postgres",
                         autocommit=True) as c:
        c.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db)
        c.execute('CREATE DATABASE "%s"' % db)
    os.environ["DATABASE_URL"] = url.set(database=db).render_as_string(hide_password=False)
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], check=True,
                   cwd=str(early_config.rootpath), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
