"""mintlib -- shared helpers for pg_mint's fault suite (tests/t/1*_fault_*.pl).

The Perl TAP files start a cluster and call `mintfault.py SCENARIO --conn
CONNSTR`; a scenario drives the server with real client connections
(psycopg), records checks and measurements, and prints one JSON document:

    {"checks": [{"what": ..., "ok": true|false, "detail": ...}, ...],
     "metrics": {...}}

The Perl side turns every check into a TAP assertion.  Nothing here sleeps
in place of synchronisation: waits poll server state with a deadline.
"""
import json
import sys
import threading
import time

import psycopg
from psycopg import sql

MINT_LOCK_SQL = ("SELECT pid, mode, granted FROM pg_catalog.pg_locks"
                 " WHERE locktype = 'advisory' AND database = 0 AND objsubid = 28020")


CURRENT = []


class Report:
    """Checks and metrics of one scenario run."""

    def __init__(self):
        CURRENT.append(self)
        self.checks = []
        self.metrics = {}
        self._mu = threading.Lock()

    def check(self, what, ok, detail=""):
        with self._mu:
            self.checks.append({"what": what, "ok": bool(ok), "detail": str(detail)})
        return bool(ok)

    def metric(self, key, value):
        with self._mu:
            self.metrics[key] = value

    def dump(self):
        sys.stdout.write(json.dumps({"checks": self.checks, "metrics": self.metrics}) + "\n")
        sys.stdout.flush()


def guard(main):
    """Run a scenario's main(); if it dies (say, the server crashed under it),
    still print what it checked so far, plus a failed check saying why."""
    import traceback
    try:
        main()
    except BaseException:
        rep = CURRENT[-1] if CURRENT else Report()
        rep.check("the scenario ran to its end", False, traceback.format_exc()[-1500:])
        rep.dump()
        sys.exit(1)


def connect(conninfo, dbname=None, user=None, autocommit=True, appname=None, **kw):
    params = {}
    if dbname is not None:
        params["dbname"] = dbname
    if user is not None:
        params["user"] = user
    if appname is not None:
        params["application_name"] = appname
    params.update(kw)
    return psycopg.connect(conninfo, autocommit=autocommit, connect_timeout=10, **params)


class Outcome:
    """Result of one SQL call: value, or SQLSTATE + message."""

    def __init__(self, value=None, sqlstate=None, message=None, elapsed=0.0):
        self.value = value
        self.sqlstate = sqlstate
        self.message = message
        self.elapsed = elapsed

    @property
    def ok(self):
        return self.sqlstate is None

    def __repr__(self):
        if self.ok:
            return "ok(%r, %.3fs)" % (self.value, self.elapsed)
        return "error(%s: %s, %.3fs)" % (self.sqlstate, self.message, self.elapsed)


def call(conn, query, params=None):
    """Run a one-value query; never raises for server errors."""
    t0 = time.monotonic()
    try:
        with conn.cursor() as cur:
            cur.execute(query, params)
            row = cur.fetchone() if cur.description else None
        return Outcome(row[0] if row else None, elapsed=time.monotonic() - t0)
    except psycopg.Error as e:
        diag = getattr(e, "diag", None)
        state = getattr(e, "sqlstate", None) or (diag.sqlstate if diag else None) or "CONN"
        msg = (diag.message_primary if diag and diag.message_primary else str(e)).strip()
        if diag and diag.message_detail:
            msg += " | DETAIL: " + diag.message_detail
        if diag and diag.context:
            msg += " | CONTEXT: " + diag.context.replace("\n", " / ")
        return Outcome(sqlstate=state, message=msg, elapsed=time.monotonic() - t0)


def q(conn, query, params=None):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


def q1(conn, query, params=None):
    rows = q(conn, query, params)
    return rows[0][0] if rows else None


def wait_until(fn, timeout, interval=0.005):
    """Poll fn() until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---- state of the cluster ------------------------------------------------

def databases(conn):
    return {r[0]: r[1] for r in q(conn, "SELECT datname, oid::bigint FROM pg_catalog.pg_database")}


def private_dbs(conn):
    return sorted(r[0] for r in q(conn, "SELECT datname FROM pg_catalog.pg_database"
                                        " WHERE datname LIKE '\\_mint\\_%'"))


def registry(conn):
    return {r[0]: {"datid": r[1], "kind": r[2], "state": r[3], "template": r[4]}
            for r in q(conn, "SELECT datname, datid::bigint, kind, state, template FROM mint.registry")}


def unfinished_rows(conn):
    return q(conn, "SELECT datname, kind, state FROM mint.registry WHERE state <> 'ready'")


def mint_workers(conn):
    """pg_mint workers at work (a session's idle executor waits for its next call)."""
    return q1(conn, "SELECT count(*) FROM pg_catalog.pg_stat_activity"
                    " WHERE backend_type = 'pg_mint worker' AND state IS DISTINCT FROM 'idle'")


def mint_locks(conn):
    return q(conn, MINT_LOCK_SQL)


def quiet(conn, timeout=10.0):
    """Wait until no pg_mint worker runs and no pg_mint lock is held."""
    return wait_until(lambda: mint_workers(conn) == 0 and not mint_locks(conn), timeout, 0.01)


# ---- templates --------------------------------------------------------------

MARKER = "mint_fault_complete"


def create_schema(conn, ntables=20, marker=True, pad_rows=0):
    """A schema with foreign keys, indexes and checks; the marker table comes last."""
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE account (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL,"
                    " CHECK (position('@' in email) > 1))")
        for i in range(ntables):
            cur.execute(
                sql.SQL("CREATE TABLE {} (id bigserial PRIMARY KEY,"
                        " account_id bigint NOT NULL REFERENCES account(id),"
                        " label text NOT NULL CHECK (length(label) < 200),"
                        " amount numeric(12,2) DEFAULT 0 CHECK (amount >= 0),"
                        " created_at timestamptz DEFAULT now())").format(sql.Identifier("item_%d" % i)))
            cur.execute(sql.SQL("CREATE INDEX ON {} (account_id, created_at)").format(
                sql.Identifier("item_%d" % i)))
        if pad_rows:
            cur.execute("CREATE TABLE padding (id int, payload text)")
            cur.execute("INSERT INTO padding SELECT g, repeat(md5(g::text), 2)"
                        " FROM generate_series(1, %s) g", (pad_rows,))
        if marker:
            cur.execute("CREATE TABLE %s (done boolean)" % MARKER)
            cur.execute("INSERT INTO %s VALUES (true)" % MARKER)


def expected_tables(ntables=20):
    return ntables + 2  # account + items + marker


def build_template(conninfo, tpl, fp="", ntables=20, user=None, pad_rows=0, admin=None):
    """template_begin -> (build) -> template_finish; returns what begin said."""
    own = admin is None
    admin = admin or connect(conninfo, user=user, appname="fault_build")
    try:
        r = q1(admin, "SELECT mint.template_begin(%s, %s)", (tpl, fp))
        if r == "build":
            try:
                with connect(conninfo, dbname=tpl, user=user, autocommit=False) as tc:
                    create_schema(tc, ntables, pad_rows=pad_rows)
                    tc.commit()
                q(admin, "SELECT mint.template_finish(%s)", (tpl,))
            except Exception:
                q(admin, "SELECT mint.template_abort(%s)", (tpl,))
                raise
        return r
    finally:
        if own:
            admin.close()


def clone_is_complete(conninfo, db, ntables=20, user=None):
    """Connect to db and verify the whole template schema is there."""
    try:
        with connect(conninfo, dbname=db, user=user) as c:
            n = q1(c, "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'"
                      " AND tablename <> 'padding'")
            m = q1(c, "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = %s", (MARKER,))
            done = q1(c, "SELECT bool_and(done) FROM %s" % MARKER) if m else None
        return n == expected_tables(ntables) and m == 1 and done is True, \
            "tables=%s marker=%s done=%s" % (n, m, done)
    except psycopg.Error as e:
        return False, "cannot check %s: %s" % (db, e)


def ms(seconds):
    return round(seconds * 1000.0, 1)
