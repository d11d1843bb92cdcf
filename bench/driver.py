#!/usr/bin/python3
"""bench/driver.py -- measure one server configuration (called by bench/run).

    driver.py --config NAME --json FILE [--sizes 1,14,22,85,1024] [--rounds N]
              [--rounds-big N] [--suite-workers N] [--suite-tests N]
              [--suite-tests-peers N] [--suite-tests-big N] [--spares N] [--spares-big N]
              [--no-suite] [--no-extension] [--quick]

Connects over TCP (127.0.0.1, PGPORT, PGUSER from bench/run's cluster) with
libpq (psycopg 3 from Debian).  For each template size it builds a template
(and a second one, same schema, that keeps a warm pool), then runs every
sequential row interleaved: each round runs every row once in a shuffled order,
so noise from the machine hits all rows alike.  The clock
(time.perf_counter_ns) runs around what a test worker waits for; preparing a
run and cleaning up after it (dropping what it created, waiting for pg_mint's
background drops and pool refills) are not timed.  After the rounds, the
per-test suite runs once per method, in a shuffled order.  Raw timings go to
FILE as JSON; bench/report.py turns the files of all configurations into
results.md, results.json and chart.dat.

Peer rows reproduce the statements each peer sends (see PEERS below).
"""
import argparse
import datetime
import json
import os
import platform
import random
import secrets
import sys
import threading
import time
import zlib

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_schema import generate, scale_for  # noqa: E402

SETTLE_DEADLINE = 120.0   # seconds to wait for pg_mint's background work between runs
BIG_MB = 500              # sizes from here on get --rounds-big, --suite-tests-big, --spares-big
PGTESTDB_ROLE = "pgtdbuser"   # pgtestdb's DefaultRoleUsername

# Where each peer's statements come from (also printed in results.md).
PEERS = {
    "pgtestdb": {
        "source": "github.com/peterldowns/pgtestdb testdb.go (v0.1.1, commit 77928108820c730a30143a53b78a841cda240dca)",
        "statements": "per test: a new connection (sql.Open, connected by its first Exec), "
                      "`CREATE DATABASE \"testdb_tpl_<hash>_inst_<random>\" WITH TEMPLATE \"testdb_tpl_<hash>\" OWNER \"pgtdbuser\"` "
                      "(createInstance), connection closed; in t.Cleanup: a new connection, "
                      "`DROP DATABASE IF EXISTS \"<instance>\"` (ForceTerminateConnections off by default), closed. "
                      "Role and template are get-or-created once per program, so not per test.",
    },
    "django": {
        "source": "Django 3.2 django/db/backends/postgresql/creation.py `_clone_test_db` "
                  "(Debian python3-django 3:3.2.25-0+deb12u7)",
        "statements": "a new connection to the `postgres` database (`_nodb_cursor`), "
                      "`CREATE DATABASE \"<clone>\" WITH TEMPLATE \"<test db>\"`, which fails with 42P04 when the "
                      "clone exists, then `DROP DATABASE \"<clone>\"` and the same CREATE again.",
    },
    "recipe": {
        "source": "the client-side recipe pasted into conftests",
        "statements": "on the worker's open connection: `pg_advisory_lock(k)`, "
                      "`pg_terminate_backend(pid)` for sessions on the target, `DROP DATABASE IF EXISTS`, "
                      "`CREATE DATABASE … TEMPLATE …`, `pg_advisory_unlock(k)`.",
    },
}

MAINT_EXECUTOR_IDLE = "10min"

ROWS = [  # key, label, note
    ("floor_wal_log", "floor `CREATE DATABASE … TEMPLATE` STRATEGY wal_log",
     "open connection; the DROP of the copy untimed"),
    ("floor_file_copy", "floor `CREATE DATABASE … TEMPLATE` STRATEGY file_copy",
     "open connection; the DROP of the copy untimed"),
    ("mint", "`mint.clone` replacing a worker's database",
     "the same open connection every run, its executor kept between runs (`SET pg_mint.executor_idle_timeout = "
     "'10min'` on that session: a round of all rows can outlast the 10 s default, which would make this row "
     "measure a new executor; that case is the next row); pg_mint's background drop of the replaced copy "
     "awaited untimed"),
    ("mint_newconn", "`mint.clone`, first call on a new connection",
     "connect untimed, then time the call (the replaced copy's drop awaited untimed)"),
    ("pool", "`mint.clone`, pool hit",
     "`mint.set_pool(template, N)`; each run waits untimed for a full pool, then times the call"),
    ("pgtestdb", "pgtestdb (new connection, `CREATE … WITH TEMPLATE … OWNER`)",
     "timed: connect + CREATE; the DROP in cleanup (new connection) untimed"),
    ("django", "Django 3.2 `_clone_test_db` (new connection, failed CREATE, DROP, CREATE)",
     "timed: connect + the three statements"),
    ("recipe", "client-side recipe (lock, terminate, DROP, CREATE)", "worker's open connection"),
]

SUITE_METHODS = [  # key, label
    ("recipe", "client-side recipe per test (floor-style: DROP + CREATE … TEMPLATE)"),
    ("pgtestdb", "pgtestdb-style per test (new connection, CREATE … OWNER; DROP in cleanup)"),
    ("mint", "`mint.clone` per test (no pool)"),
    ("pool", "`mint.clone` per test, warm pool"),
]


T0 = time.monotonic()


def log(*a):
    print(f"bench: [{time.monotonic() - T0:6.0f} s]", *a, file=sys.stderr, flush=True)


def connect(dbname="postgres", user=None, timeout="600s", **kw):
    # TCP, as a test suite's clients usually connect; a hung statement must not hang the benchmark
    return psycopg.connect(host="127.0.0.1", port=os.environ["PGPORT"],
                           user=user or os.environ.get("PGUSER", "postgres"),
                           dbname=dbname, autocommit=True, application_name="pg_mint_bench",
                           options=f"-c statement_timeout={timeout}", **kw)


def one(conn, sql, params=None):
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def sqlstate_of(e):
    return getattr(getattr(e, "diag", None), "sqlstate", None) or type(e).__name__


def first_line(e):
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def pct(values, p):
    """nearest rank percentile"""
    t = sorted(values)
    if not t:
        return None
    k = max(1, -(-p * len(t) // 100))
    return t[int(k) - 1]


def stats(values):
    if not values:
        return None
    return {"runs": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "max": max(values), "min": min(values)}


class Row:
    def __init__(self, key, label, note):
        self.key, self.label, self.note = key, label, note
        self.times, self.errors, self.extra = [], [], {}
        self.skipped = None

    def add(self, ms, err=None):
        if err is not None:
            self.errors.append([len(self.times), sqlstate_of(err), first_line(err)])
        self.times.append(ms)

    def reset(self):
        self.times, self.errors = [], []
        for k in self.extra:
            self.extra[k] = 0

    def dump(self):
        st = stats(self.times)
        if st:
            st["failures"] = len(self.errors)
        return {"key": self.key, "label": self.label, "note": self.note, "skipped": self.skipped,
                "times_ms": [round(t, 3) for t in self.times], "errors": self.errors,
                "extra": self.extra, "stats": st}


class Bench:
    def __init__(self, a):
        self.a = a
        self.maint = connect()
        self.rng = random.Random(12345)
        self.facts = {}
        self.notes = []
        self.ext = False
        self.unsettled = False
        self.sizes = []

    # ---- setup -------------------------------------------------------------
    def server_facts(self):
        c, f = self.maint, self.facts
        f["config"] = self.a.config
        f["server_version"] = one(c, "SELECT version()")
        f["server_version_num"] = int(one(c, "SHOW server_version_num"))
        for s in ("fsync", "synchronous_commit", "full_page_writes", "wal_level", "shared_buffers",
                  "max_wal_size", "checkpoint_timeout", "max_worker_processes", "max_connections"):
            f[s] = one(c, f"SHOW {s}")
        f["connection"] = f"TCP 127.0.0.1:{os.environ['PGPORT']}"
        f["cores"] = os.cpu_count()
        f["machine"] = f"{platform.machine()}, {platform.system()} {platform.release()}"
        try:
            with open("/proc/cpuinfo") as fh:
                f["cpu"] = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
        except (OSError, StopIteration):
            pass
        f["started"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        f["driver"] = f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__} wrapper of libpq {psycopg.pq.version()})"
        opts = {k: getattr(self.a, k) for k in ("sizes", "rounds", "rounds_big", "suite_workers", "suite_tests",
                                                 "suite_tests_peers", "suite_tests_big", "spares", "spares_big", "no_suite",
                                                 "suite_deadline")}
        f["options"] = opts
        f["mode"] = "quick" if self.a.quick else "full" if opts == full_defaults(False) else "partial"
        if f["server_version_num"] < 150000:
            sys.exit("bench: the floor rows need PostgreSQL 15 or later (CREATE DATABASE … STRATEGY)")

    def try_extension(self):
        if self.a.no_extension:
            self.notes.append("run with --no-extension: pg_mint rows skipped.")
            return
        try:
            self.maint.execute("CREATE EXTENSION IF NOT EXISTS pg_mint")
            self.ext = True
            self.facts["pg_mint"] = one(self.maint, "SELECT extversion FROM pg_extension WHERE extname = 'pg_mint'")
            # the "replacing" row measures a session that calls again and
            # again (a suite taking a fresh database per test): its executor
            # stays up between runs, however long the other rows of a round
            # take; "first call on a new connection" measures a new executor
            self.maint.execute(f"SET pg_mint.executor_idle_timeout = '{MAINT_EXECUTOR_IDLE}'")
            for g in ("pg_mint.strategy", "pg_mint.pool_strategy"):
                try:
                    self.facts[g] = one(self.maint, f"SHOW {g}")
                except psycopg.Error:
                    pass
        except psycopg.Error as e:
            self.notes.append(f"pg_mint extension not available ({sqlstate_of(e)}: {first_line(e)}); "
                              "its rows are skipped. Run `make && make install` first.")
            log("CREATE EXTENSION pg_mint failed:", e)

    def ensure_pgtestdb_role(self):
        # pgtestdb's ensureUser: CREATE ROLE, then ALTER ROLE … LOGIN PASSWORD … NOSUPERUSER NOCREATEDB NOCREATEROLE
        if not one(self.maint, "SELECT count(*) FROM pg_roles WHERE rolname = %s", (PGTESTDB_ROLE,)):
            self.maint.execute(f'CREATE ROLE "{PGTESTDB_ROLE}"')
            self.maint.execute(f"ALTER ROLE \"{PGTESTDB_ROLE}\" WITH LOGIN PASSWORD 'pgtdbpass' "
                               "NOSUPERUSER NOCREATEDB NOCREATEROLE")

    def build_template(self, name, sql, via_mint):
        t0 = time.perf_counter()
        if via_mint:
            with connect(timeout="0") as c:
                state = one(c, "SELECT mint.template_begin(%s, %s)", (name, "bench12"))
                if state == "build":
                    try:
                        with connect(name, timeout="0") as f:
                            f.execute(sql)
                    except Exception:
                        c.execute("SELECT mint.template_abort(%s)", (name,))
                        raise
                    c.execute("SELECT mint.template_finish(%s)", (name,))
        else:
            self.maint.execute(f'CREATE DATABASE "{name}"')
            with connect(name, timeout="0") as f:
                f.execute(sql)
            self.maint.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
        return (time.perf_counter() - t0) * 1000

    # ---- helpers -------------------------------------------------------------
    def exists(self, name):
        return one(self.maint, "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)) > 0

    def drop(self, name):
        self.maint.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def settle(self):
        """Wait (untimed) until pg_mint's background work is over: no database
        being built or dropped, every pool full."""
        if not self.ext:
            return
        deadline = time.monotonic() + (5.0 if self.unsettled else SETTLE_DEADLINE)
        while True:
            busy = one(self.maint,
                       "SELECT (SELECT count(*) FROM mint.registry WHERE state <> 'ready')"
                       " + (SELECT coalesce(sum(greatest(target_size - ready, 0)), 0) FROM mint.pools)")
            if not busy:
                return
            if time.monotonic() > deadline:
                if not self.unsettled:
                    self.notes.append(f"pg_mint's background work did not settle within {SETTLE_DEADLINE:.0f} s "
                                      "between two runs; later runs may overlap it.")
                self.unsettled = True
                return
            time.sleep(0.005)

    @staticmethod
    def executor_alive(conn):
        return one(conn, "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = "
                         "'pg_mint worker for PID ' || pg_backend_pid()")

    def pool_state(self, tpl):
        row = self.maint.execute("SELECT ready, target_size, hits, misses FROM mint.pools WHERE template = %s",
                                 (tpl,)).fetchone()
        return row or (0, 0, 0, 0)

    def wait_pool_full(self, tpl, deadline=SETTLE_DEADLINE):
        end = time.monotonic() + deadline
        while True:
            ready, target, _, _ = self.pool_state(tpl)
            if ready >= target:
                return True
            if time.monotonic() > end:
                return False
            time.sleep(0.005)

    @staticmethod
    def recipe(conn, template, target):
        key = zlib.crc32(target.encode())
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (target,))
            conn.execute(f'DROP DATABASE IF EXISTS "{target}"')
            conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    @staticmethod
    def pgtestdb_create(template):
        """pgtestdb's create(): new connection, createInstance's CREATE; returns the instance name."""
        inst = f"{template}_inst_{secrets.token_hex(4)}"
        with connect() as base:
            base.execute(f'CREATE DATABASE "{inst}" WITH TEMPLATE "{template}" OWNER "{PGTESTDB_ROLE}"')
        return inst

    @staticmethod
    def pgtestdb_cleanup(inst):
        with connect() as base:
            base.execute(f'DROP DATABASE IF EXISTS "{inst}"')

    @staticmethod
    def django_clone(template, target):
        with connect() as cur:
            try:
                cur.execute(f'CREATE DATABASE "{target}" WITH TEMPLATE "{template}"')
            except psycopg.errors.DuplicateDatabase:
                cur.execute(f'DROP DATABASE "{target}"')
                cur.execute(f'CREATE DATABASE "{target}" WITH TEMPLATE "{template}"')

    def timed(self, row, fn):
        t0 = time.perf_counter_ns()
        err = None
        try:
            fn()
        except psycopg.Error as e:
            err = e
        ms = (time.perf_counter_ns() - t0) / 1e6
        row.add(ms, err)
        if err is not None:
            log(f"{row.key}: run failed after {ms:.0f} ms: {sqlstate_of(err)} {first_line(err)}")
        return err

    # ---- sequential rows ------------------------------------------------------
    def rows_for(self, sz):
        tpl, ptpl = sz["template"], sz["pool_template"]
        p = sz["prefix"]
        runs = {}

        def floor(strategy):
            def run(r):
                self.drop(f"{p}_floor")
                self.timed(r, lambda: self.maint.execute(
                    f'CREATE DATABASE "{p}_floor" TEMPLATE "{tpl}" STRATEGY {strategy}'))
                self.drop(f"{p}_floor")
            return run
        runs["floor_wal_log"] = floor("wal_log")
        runs["floor_file_copy"] = floor("file_copy")

        def recipe(r):
            if not self.exists(f"{p}_recipe"):
                self.maint.execute(f'CREATE DATABASE "{p}_recipe" TEMPLATE "{tpl}"')
            self.timed(r, lambda: self.recipe(self.maint, tpl, f"{p}_recipe"))
        runs["recipe"] = recipe

        def pgtestdb(r):
            made = []
            self.timed(r, lambda: made.append(self.pgtestdb_create(tpl)))
            for inst in made:
                self.pgtestdb_cleanup(inst)
        runs["pgtestdb"] = pgtestdb

        def django(r):
            if not self.exists(f"{p}_django"):  # Django replaces a clone left by the last run
                self.maint.execute(f'CREATE DATABASE "{p}_django" TEMPLATE "{tpl}"')
            self.timed(r, lambda: self.django_clone(tpl, f"{p}_django"))
        runs["django"] = django

        if self.ext:
            def mint(r):
                # was this session's executor still there (warm), or did the
                # call start a new one (pg_mint.executor_idle_timeout)?
                key = "executor_warm" if self.executor_alive(self.maint) else "executor_started"
                r.extra[key] = r.extra.get(key, 0) + 1
                self.timed(r, lambda: self.maint.execute("SELECT mint.clone(%s, %s)", (tpl, f"{p}_w0")).fetchone())
                self.settle()
            runs["mint"] = mint

            def mint_newconn(r):
                with connect() as c:
                    self.timed(r, lambda: c.execute("SELECT mint.clone(%s, %s)", (tpl, f"{p}_w1")).fetchone())
                self.settle()
            runs["mint_newconn"] = mint_newconn

            if sz.get("pool_ok"):
                def pool(r):
                    if not self.wait_pool_full(ptpl):
                        r.extra["pool_not_full"] = r.extra.get("pool_not_full", 0) + 1
                    _, _, h0, m0 = self.pool_state(ptpl)
                    self.timed(r, lambda: self.maint.execute("SELECT mint.clone(%s, %s)",
                                                             (ptpl, f"{p}_pw0")).fetchone())
                    _, _, h1, m1 = self.pool_state(ptpl)
                    r.extra["hits"] = r.extra.get("hits", 0) + h1 - h0
                    r.extra["misses"] = r.extra.get("misses", 0) + m1 - m0
                    self.settle()
                runs["pool"] = pool

        rows = []
        for key, label, note in ROWS:
            r = Row(key, label, note)
            if key in runs:
                rows.append((r, runs[key]))
            else:
                r.skipped = (sz.get("pool_skip") if key == "pool" and self.ext else
                             "pg_mint not used" if self.a.no_extension else "pg_mint extension not available")
                rows.append((r, None))
        if "pool" in runs:
            rows[[k for k, _, _ in ROWS].index("pool")][0].note += f" (N = {sz['spares']})"
        return rows

    def interleave(self, rows, rounds, what):
        todo = [(r, fn) for r, fn in rows if fn is not None]
        for k in range(rounds):
            self.rng.shuffle(todo)
            for r, fn in todo:
                try:
                    fn(r)
                except psycopg.Error as e:
                    msg = f"{r.key}: untimed step failed in {what} round {k + 1}: {sqlstate_of(e)} {first_line(e)}"
                    log(msg)
                    self.notes.append(msg)
            log(f"{what} round {k + 1}/{rounds} done")

    # ---- the per-test suite ----------------------------------------------------
    def suite(self, sz, method, workers, tests):
        """workers threads x tests tests; each test takes a fresh database with
        the method, connects to it, does a few statements and 50 ms of client
        work, then releases it.  Returns the record for results.json."""
        tpl = sz["pool_template"] if method == "pool" else sz["template"]
        p = sz["prefix"]
        targets = [f"{p}_s{method[:2]}{i}" for i in range(workers)]
        # untimed preparation: the workers' previous databases exist, pg_mint is idle, the pool is full
        if method == "recipe":
            for t in targets:
                if not self.exists(t):
                    self.maint.execute(f'CREATE DATABASE "{t}" TEMPLATE "{tpl}"')
        elif method in ("mint", "pool"):
            for t in targets:
                self.maint.execute("SELECT mint.clone(%s, %s)", (tpl, t))
            self.settle()
        if method == "pool":
            self.wait_pool_full(tpl)
        self.maint.execute("CHECKPOINT")
        st0 = self.pool_state(tpl) if method == "pool" else None

        waits = [[] for _ in range(workers)]
        errs = []
        gate = threading.Barrier(workers + 1)

        def work(i):
            admin = connect() if method != "pgtestdb" else None
            gate.wait()
            try:
                for _ in range(tests):
                    if time.monotonic() > stop_at:
                        break   # the suite's deadline: the record says how many tests ran
                    t0 = time.perf_counter_ns()
                    if method == "recipe":
                        self.recipe(admin, tpl, targets[i])
                        db, user = targets[i], None
                    elif method == "pgtestdb":
                        db, user = self.pgtestdb_create(tpl), PGTESTDB_ROLE
                    else:
                        admin.execute("SELECT mint.clone(%s, %s)", (tpl, targets[i])).fetchone()
                        db, user = targets[i], None
                    waits[i].append((time.perf_counter_ns() - t0) / 1e6)
                    with connect(db, user=user) as c:   # the test
                        for k in range(3):
                            c.execute("INSERT INTO public.bench_work (worker, note) VALUES (%s, %s)", (i, f"t{k}"))
                        c.execute("SELECT count(*) FROM public.bench_work").fetchone()
                        c.execute("SELECT count(*) FROM pg_class").fetchone()
                        time.sleep(0.05)                # the rest of the test's work (client side)
                    if method == "pgtestdb":
                        self.pgtestdb_cleanup(db)
            except Exception as e:  # noqa: BLE001 -- reported, the others carry on
                errs.append(f"worker {i}: {sqlstate_of(e)} {first_line(e)}")
            finally:
                if admin is not None:
                    admin.close()

        ths = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
        stop_at = float("inf")
        for t in ths:
            t.start()
        if self.a.suite_deadline:
            stop_at = time.monotonic() + self.a.suite_deadline
        gate.wait()
        t0 = time.perf_counter()
        for t in ths:
            t.join()
        wall = time.perf_counter() - t0
        rec = {"method": method, "workers": workers, "tests_per_worker": tests, "wall_s": round(wall, 3),
               "waits_ms": [round(w, 3) for ws in waits for w in ws], "errors": errs}
        rec["stats"] = stats(rec["waits_ms"])
        rec["tests_run"] = len(rec["waits_ms"])
        rec["stopped_at_deadline"] = len(rec["waits_ms"]) < workers * tests and not errs
        if method == "pool":
            st1 = self.pool_state(tpl)
            hits, misses = st1[2] - st0[2], st1[3] - st0[3]
            made = (st1[0] - st0[0]) + hits   # spares taken were made, plus the change in ready ones
            rec.update(spares=sz["spares"], hits=hits, misses=misses,
                       hit_rate=round(hits / (hits + misses), 3) if hits + misses else None,
                       spares_made=made, refill_per_s=round(made / wall, 3) if wall else None,
                       ready_at_start=st0[0], ready_at_end=st1[0])
        for e in errs:
            log(f"suite {method}: {e}")
        self.settle()
        return rec

    # ---- the run -----------------------------------------------------------------
    def prepare_size(self, mb):
        big = mb >= BIG_MB
        scale = scale_for(mb)
        sql = generate(scale if scale is not None else 0, bare=scale is None)
        # a table every test writes into (the same in every template)
        # (pgtestdb's tests connect as its own role: let every role write it)
        sql += ("CREATE TABLE public.bench_work (id bigserial PRIMARY KEY, worker int, note text);\n"
                "GRANT ALL ON public.bench_work, public.bench_work_id_seq TO PUBLIC;\n")
        label = f"{mb // 1024} GB" if mb >= 1024 and mb % 1024 == 0 else f"{mb} MB"
        prefix = f"b{mb}"
        sz = {"target_mb": mb, "label": label, "prefix": prefix, "template": f"{prefix}_tpl",
              "pool_template": f"{prefix}_tplp", "big": big,
              "schema": "bare: one table of 100 rows" if scale is None else f"50 tables, gen_schema --scale {scale:.2f}",
              "spares": self.a.spares_big if big else self.a.spares}
        log(f"size {label}: building the template ({sz['schema']})")
        sz["build_ms"] = round(self.build_template(sz["template"], sql, self.ext), 1)
        sz["bytes"] = one(self.maint, "SELECT pg_database_size(%s)", (sz["template"],))
        sz["size_mb"] = round(sz["bytes"] / 1048576, 1)
        if self.ext:
            try:
                self.build_template(sz["pool_template"], sql, True)
                self.maint.execute("SELECT mint.set_pool(%s, %s)", (sz["pool_template"], sz["spares"]))
                if self.wait_pool_full(sz["pool_template"], deadline=300):
                    sz["pool_ok"] = True
                else:
                    sz["pool_skip"] = "the warm pool never filled (300 s)"
            except psycopg.Error as e:
                sz["pool_skip"] = f"warm pool not available: {sqlstate_of(e)} {first_line(e)}"
            if sz.get("pool_skip"):
                log("pool:", sz["pool_skip"])
        log(f"size {label}: template {sz['size_mb']} MB built in {sz['build_ms'] / 1000:.1f} s")
        return sz

    def finish_size(self, sz):
        # free the disk and the refiller before the next size: no pool, no copies
        if self.ext and sz.get("pool_ok"):
            self.maint.execute("SELECT mint.set_pool(%s, 0)", (sz["pool_template"],))
        for (d,) in self.maint.execute("SELECT datname FROM pg_database WHERE datname LIKE %s AND NOT datistemplate",
                                       (sz["prefix"] + "\\_%",)).fetchall():
            if self.ext:
                try:
                    if self.maint.execute("SELECT mint.drop(%s)", (d,)).fetchone()[0]:
                        continue
                except psycopg.Error:
                    pass
            self.drop(d)
        self.settle()

    def run(self):
        self.server_facts()
        self.try_extension()
        self.ensure_pgtestdb_role()
        out = {"facts": self.facts, "notes": self.notes, "sizes": []}
        for mb in self.a.sizes:
            sz = self.prepare_size(mb)
            rounds = self.a.rounds_big if sz["big"] else self.a.rounds
            rows = self.rows_for(sz)
            # the replace rows start from an existing worker database
            if self.ext:
                for t in ("w0", "w1"):
                    self.maint.execute("SELECT mint.clone(%s, %s)", (sz["template"], f"{sz['prefix']}_{t}"))
                self.settle()
            self.maint.execute("CHECKPOINT")
            warm = 0 if self.a.quick or sz["big"] else 1
            if warm:
                self.interleave(rows, warm, f"{sz['label']} warm-up")
                for r, _ in rows:
                    r.reset()
            t0 = time.monotonic()
            self.interleave(rows, rounds, sz["label"])
            sz["rounds"] = rounds
            sz["warmup_rounds"] = warm
            sz["rows"] = [r.dump() for r, _ in rows]
            sz["rows_s"] = round(time.monotonic() - t0, 1)
            sz["suites"] = []
            if not self.a.no_suite:
                tests = self.a.suite_tests_big if sz["big"] else self.a.suite_tests
                peer_tests = self.a.suite_tests_big if sz["big"] else self.a.suite_tests_peers
                methods = [m for m, _ in SUITE_METHODS
                           if m in ("recipe", "pgtestdb") or (self.ext and (m == "mint" or sz.get("pool_ok")))]
                self.rng.shuffle(methods)
                for m in methods:
                    t1 = time.monotonic()
                    rec = self.suite(sz, m, self.a.suite_workers, tests if m == "pool" else peer_tests)
                    log(f"{sz['label']} suite {m}: {rec['wall_s']:.1f} s wall "
                        f"(+{time.monotonic() - t1 - rec['wall_s']:.1f} s untimed)")
                    sz["suites"].append(rec)
            self.finish_size(sz)
            out["sizes"].append(sz)
            # write as we go: a long run interrupted late still leaves its data
            self.dump(out)
        self.facts["finished"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        self.dump(out)

    def dump(self, out):
        tmp = self.a.json + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(out, fh, indent=1, default=str)
        os.replace(tmp, self.a.json)


def full_defaults(q):
    return {"sizes": [1, 14] if q else [1, 14, 22, 85, 1024], "rounds": 1 if q else 9,
            "rounds_big": 1 if q else 3, "suite_workers": 2 if q else 4, "suite_tests": 2 if q else 100,
            "suite_tests_peers": 2 if q else 25, "suite_tests_big": 2 if q else 3, "spares": 1 if q else 8,
            "spares_big": 1 if q else 2, "no_suite": False, "suite_deadline": 20 if q else 120}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",") if x])
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--rounds-big", type=int)
    ap.add_argument("--suite-workers", type=int)
    ap.add_argument("--suite-tests", type=int)
    ap.add_argument("--suite-tests-peers", type=int)
    ap.add_argument("--suite-tests-big", type=int)
    ap.add_argument("--spares", type=int)
    ap.add_argument("--spares-big", type=int)
    ap.add_argument("--suite-deadline", type=float,
                    help="seconds after which a suite's workers start no new test (0: none)")
    ap.add_argument("--no-suite", action="store_true")
    ap.add_argument("--no-extension", action="store_true")
    a = ap.parse_args()
    for k, v in full_defaults(a.quick).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    Bench(a).run()


if __name__ == "__main__":
    main()
