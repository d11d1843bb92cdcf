"""pytest + pytest-xdist + pg_mint: every worker gets its own fresh database.

Copy this file next to your tests and adjust the settings and _build_schema()
below.  It runs when pytest imports it -- before any test module, and
therefore before your application (which builds its engine from DATABASE_URL
at import time):

  1. derive this worker's database name:   SELECT mint.worker_name(base, worker[, run])
     and point DATABASE_URL / TEST_DATABASE_URL at it (only the database part
     of the URL changes, so postgresql+asyncpg://... URLs work too).  The run
     identity (PG_MINT_RUN, else a CI variable such as GITHUB_RUN_ID, the
     same ones the pg_mint CLI reads) keeps concurrent runs against one
     server apart, and is recorded with each clone (pg_mint.run);
  2. make sure the template is built for the current models:
        SELECT mint.template_begin(template, fingerprint)
     'ready' -> nothing to do (another worker or an earlier run built it;
                several fingerprints -- two branches -- live side by side);
     'build' -> we hold the build lock: create the schema over a connection to
                the template, then mint.template_finish (mint.template_abort
                if anything fails).  Other workers wait inside template_begin;
  3. SELECT mint.clone(template, worker_db): a fresh copy of the version this
     session asked for in step 2, replacing the one a previous run left, in a
     few tens of milliseconds.

Only SQL calls to the extension: no client-side locks, no terminate/drop/create.
The extension lives in the maintenance database (`postgres` by default):
PG_MINT_MAINTENANCE_URL (a libpq URL, postgresql://...) overrides it;
otherwise it is DATABASE_URL with the driver removed and the database set to
`postgres`.
"""
import hashlib
import json
import os
import shlex
import sys
import time

import psycopg
from sqlalchemy.engine import make_url

# ---- settings ---------------------------------------------------------------
HERE = os.path.dirname(os.path.abspath(__file__))
# files and directories whose content decides whether the template is still
# good: models, migrations, anything that changes the schema
FINGERPRINT_PATHS = [os.path.join(HERE, "app", "models")]
# the database named in DATABASE_URL is the base; workers get base_gw0, ...
BASE_URL = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") \
    or "postgresql+psycopg:///app_test"
TEMPLATE = os.environ.get("PG_MINT_TEMPLATE") or (make_url(BASE_URL).database or "app_test") + "_tpl"
# set by a CI step that already made the databases with the pg_mint CLI
# (see run_with_cli.sh): only pick this worker's database, build/clone nothing
PREPARED = os.environ.get("PG_MINT_PREPARED") == "1"
# optional: append one JSON line per step to this file (used by pg_mint's own tests)
EVENTS = os.environ.get("PG_MINT_EVENTS")
# run identity: concurrent runs of this suite against one server (CI
# pipelines, two worktrees) get databases of their own.  The same variables,
# in the same order, as `pg_mint clone --run`.
RUN_VARS = ("PG_MINT_RUN", "GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_ID",
            "CIRCLE_WORKFLOW_ID", "BUILD_TAG")
RUN = next((os.environ[v] for v in RUN_VARS if os.environ.get(v)), None)
# -----------------------------------------------------------------------------


def _event(**fields):
    if EVENTS:
        fields.update(pid=os.getpid(), t=time.time())
        with open(EVENTS, "a") as f:
            f.write(json.dumps(fields) + "\n")


def _with_database(url, dbname):
    """The same SQLAlchemy URL (any driver) with only the database replaced."""
    return make_url(url).set(database=dbname).render_as_string(hide_password=False)


def _maintenance_conninfo(url):
    explicit = os.environ.get("PG_MINT_MAINTENANCE_URL")
    if explicit:
        return explicit
    u = make_url(url)
    libpq_keywords = {d.keyword.decode() for d in psycopg.pq.Conninfo.get_defaults()}
    params = {k: v for k, v in u.query.items() if k in libpq_keywords and isinstance(v, str)}
    if "ssl" in u.query and "sslmode" not in params:  # asyncpg spelling
        params["sslmode"] = u.query["ssl"] if u.query["ssl"] != "true" else "require"
    for key, value in (("host", u.host), ("port", u.port), ("user", u.username),
                       ("password", u.password)):
        if value is not None:
            params[key] = str(value)
    params["dbname"] = "postgres"
    return psycopg.conninfo.make_conninfo(**params)


def _xdist_controller():
    """True in the process that only distributes tests to xdist workers: it
    needs no database, so it must not clone one."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return False
    args = sys.argv[1:] + shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    for i, a in enumerate(args):
        if a in ("-n", "--numprocesses"):
            value = args[i + 1] if i + 1 < len(args) else ""
        elif a.startswith("--numprocesses="):
            value = a.split("=", 1)[1]
        elif a.startswith("-n") and not a.startswith("--"):
            value = a[2:]
        else:
            continue
        return value != "0"
    return False


def _fingerprint():
    """SHA-256 over FINGERPRINT_PATHS, computed exactly like
    `pg_mint fingerprint PATH...` / `pg_mint template --fingerprint-files`
    (keys: basename of each argument + relative path; sorted; each entry
    hashed as key NUL size NUL contents; dot-files and __pycache__ skipped),
    so a template built by the CLI in a CI step is 'ready' here."""
    entries = []
    for top in FINGERPRINT_PATHS:
        top = os.path.realpath(top)
        name = os.path.basename(top)
        if os.path.isfile(top):
            entries.append((name.encode(), top))
            continue
        for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
            rel = os.path.relpath(dirpath, top)
            for fn in filenames:
                if fn.startswith("."):
                    continue
                key = name if rel == "." else name + "/" + rel.replace(os.sep, "/")
                entries.append(((key + "/" + fn).encode(), os.path.join(dirpath, fn)))
    h = hashlib.sha256()
    for key, path in sorted(entries):
        with open(path, "rb") as f:
            data = f.read()
        h.update(key + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()


def _build_schema(template_url):
    """Create the schema in the template.  Runs only in the one worker that
    template_begin() told to build."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool
    from app.models import metadata

    # NullPool + dispose: no connection may stay open on a template
    engine = create_engine(template_url, poolclass=NullPool, future=True)
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
    finally:
        engine.dispose()


def _prepare_worker_database():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    with psycopg.connect(_maintenance_conninfo(BASE_URL), autocommit=True) as mconn:
        base = make_url(BASE_URL).database
        if RUN:
            worker_db = mconn.execute("SELECT mint.worker_name(%s, %s, %s)", (base, worker, RUN)).fetchone()[0]
            # recorded with the clone: `pg_mint gc --run RUN` collects this run's only
            mconn.execute("SELECT pg_catalog.set_config('pg_mint.run', %s, false)", (RUN,))
        else:
            worker_db = mconn.execute("SELECT mint.worker_name(%s, %s)", (base, worker)).fetchone()[0]
        # rewrite the URLs first, so that anything imported from here on
        # (even by the schema build below) sees this worker's database
        url = _with_database(BASE_URL, worker_db)
        os.environ["DATABASE_URL"] = url
        os.environ["TEST_DATABASE_URL"] = url
        if PREPARED:
            _event(event="prepared", worker=worker, database=worker_db)
            return

        fingerprint = _fingerprint()
        t0 = time.monotonic()
        state = mconn.execute("SELECT mint.template_begin(%s, %s)", (TEMPLATE, fingerprint)).fetchone()[0]
        _event(event="begin", worker=worker, template=TEMPLATE, fingerprint=fingerprint,
               result=state, seconds=time.monotonic() - t0)
        if state == "build":
            try:
                _build_schema(_with_database(BASE_URL, TEMPLATE))
            except BaseException:
                mconn.execute("SELECT mint.template_abort(%s)", (TEMPLATE,))
                _event(event="abort", worker=worker, template=TEMPLATE)
                raise
            built = time.time()
            mconn.execute("SELECT mint.template_finish(%s)", (TEMPLATE,))
            _event(event="finish", worker=worker, template=TEMPLATE, fingerprint=fingerprint,
                   built=built)

        t0 = time.monotonic()
        mconn.execute("SELECT mint.clone(%s, %s)", (TEMPLATE, worker_db))
        _event(event="clone", worker=worker, template=TEMPLATE, database=worker_db,
               fingerprint=fingerprint, run=RUN, seconds=time.monotonic() - t0)


if not _xdist_controller():
    _prepare_worker_database()

# From here on DATABASE_URL names this worker's database: the app may be
# imported now (test modules, fixtures in tests/conftest.py, ...).
