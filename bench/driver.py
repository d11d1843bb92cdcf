#!/usr/bin/python3
"""bench/driver.py -- the pg_mint benchmark driver (called by bench/run).

Connects with libpq (psycopg 3 from Debian) to the throwaway cluster named by
PGHOST/PGPORT/PGUSER, builds the template, runs every contender interleaved
(each round runs every contender once, in a shuffled order, so machine noise
hits all of them alike), and writes results.json, results.md and chart.dat
into --out.  The clock (time.perf_counter_ns) runs around the SQL round trips
only: preparing a run (opening an idle session, making sure the old target
exists) and cleaning up after it (dropping what a run created, waiting for
pg_mint's background drops and pool refills to finish) are not timed.
"""
import argparse
import datetime
import json
import os
import platform
import random
import sys
import threading
import time
import zlib

import psycopg

TEMPLATE = "bench_tpl"            # the template every contender copies
POOL_TEMPLATE = "bench_tpl_pool"  # same schema, with a warm pool (contender 7)
OPEN_TEMPLATE = "bench_tpl_open"  # plain copy that accepts connections (recipe worst case)
WORKERS = 8
BURST = 5                  # back-to-back pool hits per round
SETTLE_DEADLINE = 60.0            # seconds to wait for background work between runs


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def connect(dbname="postgres", **kw):
    # a hung statement must not hang the benchmark
    return psycopg.connect(dbname=dbname, autocommit=True, application_name="pg_mint_bench",
                           options="-c statement_timeout=120s", **kw)


def one(conn, sql, params=None):
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def sqlstate_of(e):
    return getattr(getattr(e, "diag", None), "sqlstate", None) or type(e).__name__


class Result:
    """Timings of one contender; a failed run keeps its time and its error."""

    def __init__(self, key, label, group, note=""):
        self.key, self.label, self.group, self.note = key, label, group, note
        self.times = []      # ms, every run (failed ones included)
        self.errors = []     # (run index, sqlstate, message)
        self.extra = {}
        self.skipped = None  # reason, when the contender could not run

    def add(self, ms, err=None):
        if err is not None:
            self.errors.append((len(self.times), sqlstate_of(err), str(err).strip().splitlines()[0]))
        self.times.append(ms)

    def stats(self):
        t = sorted(self.times)
        if not t:
            return None
        n = len(t)

        def pct(p):  # nearest rank
            k = max(1, -(-p * n // 100))
            return t[int(k) - 1]
        return {"runs": n, "failures": len(self.errors), "p50": pct(50),
                "p95": pct(95), "max": t[-1], "min": t[0]}


class Bench:
    def __init__(self, args):
        self.args = args
        self.schema_sql = open(args.schema).read()
        self.maint = connect()
        self.facts = {}
        self.results = []
        self.notes = []
        self.ext = False
        self.pool = False
        self.unsettled = False
        self.rng = random.Random(12345)

    # ---- setup -------------------------------------------------------------
    def server_facts(self):
        c = self.maint
        f = self.facts
        f["server_version"] = one(c, "SELECT version()")
        f["server_version_num"] = int(one(c, "SHOW server_version_num"))
        for s in ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers",
                  "max_worker_processes", "max_wal_size", "checkpoint_timeout",
                  "wal_level", "max_connections"):
            f[s] = one(c, f"SHOW {s}")
        if f["server_version_num"] >= 150000:
            self.strategies = ["wal_log", "file_copy"]
            f["default_strategy"] = "wal_log"
        else:
            self.strategies = [None]
            f["default_strategy"] = "file_copy (only strategy before PostgreSQL 15)"
        f["cores"] = os.cpu_count()
        f["machine"] = f"{platform.machine()}, {platform.system()} {platform.release()}"
        try:
            with open("/proc/cpuinfo") as fh:
                for line in fh:
                    if line.startswith("model name"):
                        f["cpu"] = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        f["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        f["driver"] = f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__} wrapper of libpq {psycopg.pq.version()})"
        f["mode"] = "quick" if self.args.quick else "full"

    def try_extension(self):
        if self.args.no_extension:
            self.notes.append("run with --no-extension: contenders 4-7 skipped.")
            return
        try:
            self.maint.execute("CREATE EXTENSION IF NOT EXISTS pg_mint")
            self.ext = True
            self.facts["pg_mint"] = one(self.maint,
                "SELECT extversion FROM pg_extension WHERE extname = 'pg_mint'")
        except psycopg.Error as e:
            self.ext = False
            self.notes.append(f"pg_mint extension not available ({sqlstate_of(e)}: "
                              f"{str(e).strip().splitlines()[0]}); contenders 4-7 skipped. "
                              f"Run `make && make install` first.")
            log("CREATE EXTENSION pg_mint failed:", e)

    def fill(self, dbname):
        """Run the schema SQL into dbname (one multi-statement round trip)."""
        with connect(dbname) as c:
            c.execute(self.schema_sql)

    def build_template(self, name):
        """Build a template: through pg_mint when available, else by hand."""
        t0 = time.perf_counter()
        if self.ext:
            # template_begin holds a session-level build lock on this connection
            with connect() as c:
                state = one(c, "SELECT mint.template_begin(%s, %s)", (name, "bench-v1"))
                if state == "build":
                    try:
                        self.fill(name)
                    except Exception:
                        c.execute("SELECT mint.template_abort(%s)", (name,))
                        raise
                    c.execute("SELECT mint.template_finish(%s)", (name,))
        else:
            self.maint.execute(f'CREATE DATABASE "{name}"')
            self.fill(name)
            self.maint.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
        return (time.perf_counter() - t0) * 1000

    def setup(self):
        self.server_facts()
        self.try_extension()
        try:
            ms = self.build_template(TEMPLATE)
        except psycopg.Error as e:
            if not self.ext:
                raise
            # pg_mint cannot build templates yet: fall back so 1-3 still run
            log("template build through pg_mint failed:", e)
            self.notes.append(f"building the template through pg_mint failed ({sqlstate_of(e)}: "
                              f"{str(e).strip().splitlines()[0]}); built it by hand, contenders 4-7 skipped.")
            self.ext = False
            self.maint.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
            ms = self.build_template(TEMPLATE)
        self.facts["template_build_ms"] = round(ms, 1)
        self.facts["template_size"] = one(self.maint,
            "SELECT pg_size_pretty(pg_database_size(%s))", (TEMPLATE,))
        self.facts["template_bytes"] = one(self.maint, "SELECT pg_database_size(%s)", (TEMPLATE,))
        self.maint.execute(f'CREATE DATABASE "{OPEN_TEMPLATE}" TEMPLATE "{TEMPLATE}"')
        with connect(OPEN_TEMPLATE) as c:
            self.facts["template_tables"] = one(c,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname IN ('acct','shop','crm','ops')")
            self.facts["template_indexes"] = one(c,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'i' AND n.nspname IN ('acct','shop','crm','ops')")
            self.facts["template_fks"] = one(c,
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")
            self.facts["template_user_data"] = one(c,
                "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r','m') AND n.nspname NOT IN ('pg_catalog','information_schema')")
        # driver overhead: one trivial round trip
        r = Result("rtt", "round trip `SELECT 1` (driver overhead)", "info")
        for _ in range(200):
            t0 = time.perf_counter_ns()
            self.maint.execute("SELECT 1").fetchone()
            r.add((time.perf_counter_ns() - t0) / 1e6)
        self.rtt = r

    # ---- helpers -----------------------------------------------------------
    def exists(self, name):
        return one(self.maint, "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)) > 0

    def drop(self, name):
        self.maint.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def settle(self):
        """Wait (untimed) until pg_mint's background work is over: no database
        being dropped or built, every pool full.  Poll with a deadline."""
        if not self.ext:
            return
        # once background work failed to settle, stop waiting long for it
        deadline = time.monotonic() + (2.0 if self.unsettled else SETTLE_DEADLINE)
        while True:
            busy = one(self.maint,
                "SELECT (SELECT count(*) FROM mint.registry WHERE state <> 'ready')"
                " + (SELECT coalesce(sum(greatest(target_size - ready, 0)), 0) FROM mint.pools)")
            if not busy:
                return
            if time.monotonic() > deadline:
                if not self.unsettled:
                    rows = self.maint.execute(
                        "SELECT datname, kind, state FROM mint.registry WHERE state <> 'ready'").fetchall()
                    self.notes.append("pg_mint background work did not settle within "
                                      f"{SETTLE_DEADLINE:.0f} s between two runs (registry rows not ready: "
                                      f"{rows}); later runs may overlap it.")
                self.unsettled = True
                log("settle: deadline passed with", busy, "busy entries")
                return
            time.sleep(0.005)

    @staticmethod
    def recipe(conn, template, target, key):
        """The client-side recipe people paste into conftests."""
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (target,))
            conn.execute(f'DROP DATABASE IF EXISTS "{target}"')
            conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    @staticmethod
    def key_of(name):
        return zlib.crc32(name.encode())

    def timed(self, res, fn):
        t0 = time.perf_counter_ns()
        err = None
        try:
            fn()
        except psycopg.Error as e:
            err = e
        ms = (time.perf_counter_ns() - t0) / 1e6
        res.add(ms, err)
        if err is not None:
            log(f"{res.key}: run failed after {ms:.0f} ms: {sqlstate_of(err)} {str(err).strip().splitlines()[0]}")
        return err

    # ---- sequential contenders (one worker) ---------------------------------
    def contenders(self):
        """Return [(Result, runs_wanted, run_once)]; run_once does one run."""
        out = []
        dflt = self.strategies[0]

        r = Result("migrate", "1 migrate per worker (CREATE DATABASE + schema SQL)", "seq",
                   "empty database from template1, connect, run the schema SQL in one round trip; old copy dropped untimed")

        def migrate(r=r):
            self.drop("bench_migrate")
            def go():
                self.maint.execute('CREATE DATABASE "bench_migrate"')
                self.fill("bench_migrate")
            self.timed(r, go)
        out.append((r, None, migrate))

        r = Result("recipe", "2 client-side recipe (lock, terminate, DROP, CREATE)", "seq")

        def recipe(r=r):
            if not self.exists("bench_recipe"):
                self.maint.execute(f'CREATE DATABASE "bench_recipe" TEMPLATE "{TEMPLATE}"')
            self.timed(r, lambda: self.recipe(self.maint, TEMPLATE, "bench_recipe", self.key_of("bench_recipe")))
        out.append((r, None, recipe))

        for s in self.strategies:
            name = f"3 floor `CREATE DATABASE ... TEMPLATE`" + (f" STRATEGY {s}" if s else "")
            if s == dflt:
                name += " (default)"
            r = Result(f"floor_{s or 'default'}", name, "seq")
            clause = f" STRATEGY {s}" if s else ""

            def floor(r=r, clause=clause):
                self.drop("bench_floor")
                self.timed(r, lambda: self.maint.execute(
                    f'CREATE DATABASE "bench_floor" TEMPLATE "{TEMPLATE}"{clause}'))
                self.drop("bench_floor")
            out.append((r, None, floor))

        r = Result("recipe_idle_target", "5 recipe, one idle session on the target", "seq")

        def recipe_idle_target(r=r):
            if not self.exists("bench_recipe_it"):
                self.maint.execute(f'CREATE DATABASE "bench_recipe_it" TEMPLATE "{TEMPLATE}"')
            idle = connect("bench_recipe_it")
            try:
                self.timed(r, lambda: self.recipe(self.maint, TEMPLATE, "bench_recipe_it",
                                                  self.key_of("bench_recipe_it")))
            finally:
                idle.close()
        out.append((r, None, recipe_idle_target))

        r = Result("recipe_idle_template", "5 recipe, one idle session on the template", "seq",
                   "template accepts connections here (plain copy); expected: 5 s then ERROR 55006")

        def recipe_idle_template(r=r):
            idle = connect(OPEN_TEMPLATE)
            try:
                self.timed(r, lambda: self.recipe(self.maint, OPEN_TEMPLATE, "bench_recipe_tt",
                                                  self.key_of("bench_recipe_tt")))
            finally:
                idle.close()
            if not self.exists("bench_recipe_tt"):
                r.extra["target_gone_after_failure"] = r.extra.get("target_gone_after_failure", 0) + 1
        out.append((r, self.args.template_idle_runs, recipe_idle_template))

        if not self.ext:
            for key, label in (("mint", "4 `mint.clone` replacing a worker db"),
                               ("mint_idle_target", "5 `mint.clone`, one idle session on the target"),
                               ("pool", "7 `mint.clone` from a warm pool")):
                r = Result(key, label, "seq")
                r.skipped = "pg_mint extension not used" if self.args.no_extension else "pg_mint extension not available"
                self.results.append(r)
            return out

        r = Result("mint", "4 `mint.clone` replacing a worker db", "seq",
                   "background drop of the old copy awaited untimed after each run")

        def mint(r=r):
            self.timed(r, lambda: self.maint.execute(
                "SELECT mint.clone(%s, %s)", (TEMPLATE, "bench_mint")).fetchone())
            self.settle()
        out.append((r, None, mint))

        r = Result("mint_idle_target", "5 `mint.clone`, one idle session on the target", "seq")
        r.extra["idle_session_survived"] = 0

        def mint_idle(r=r):
            idle = connect("bench_mint_it")
            try:
                self.timed(r, lambda: self.maint.execute(
                    "SELECT mint.clone(%s, %s)", (TEMPLATE, "bench_mint_it")).fetchone())
                # the idle session sat on the old copy: it must be gone (untimed check)
                try:
                    idle.execute("SELECT 1").fetchone()
                    if one(idle, "SELECT current_database()") == "bench_mint_it":
                        r.extra["idle_session_survived"] += 1
                except psycopg.Error:
                    pass
            finally:
                idle.close()
            self.settle()
        out.append((r, None, mint_idle))

        r = Result("pool", "7 `mint.clone` from a warm pool", "seq")
        if self.pool_setup(r):
            r.extra.update(hits=0, misses=0)

            def pool(r=r):
                self.wait_pool_full()
                # isolated means isolated: the refiller has exited (it lingers ~2 s)
                if not self.wait_refiller_gone():
                    r.extra["refiller_still_running"] = r.extra.get("refiller_still_running", 0) + 1
                h0, m0 = self.pool_counters()
                self.timed(r, lambda: self.maint.execute(
                    "SELECT mint.clone(%s, %s)", (POOL_TEMPLATE, "bench_pooled")).fetchone())
                h1, m1 = self.pool_counters()
                r.extra["hits"] += h1 - h0
                r.extra["misses"] += m1 - m0
                self.settle()
            out.append((r, None, pool))

            # what this machine charges any query in the isolated hit's place:
            # the same untimed waits (pool full, refiller gone), then a trivial
            # catalog query instead of the hit
            ri = Result("pool_idle_ref", "7 (reference) a catalog query where the isolated hit runs", "seq",
                        "same untimed waits as the isolated hit, then `SELECT count(*) FROM pg_class` "
                        "instead of `mint.clone`: what the idle machine costs any query in that place")

            def pool_idle_ref(r=ri):
                self.wait_pool_full()
                self.wait_refiller_gone()
                self.pool_counters()
                self.timed(r, lambda: self.maint.execute(
                    "SELECT count(*) FROM pg_catalog.pg_class").fetchone())
            out.append((ri, None, pool_idle_ref))

            # the scene the pool is for: a fresh database per test, one clone
            # right after another while the refiller is still around
            rb = Result("pool_b2b", "7 `mint.clone` from a warm pool, back to back (a fresh database per test)", "seq",
                        f"{BURST} hits in a row per round, each once the pool is full again; "
                        "the refiller lingers between them, so no hit starts a worker")
            rb.extra.update(hits=0, misses=0)

            def pool_b2b(r=rb):
                for _ in range(BURST):
                    self.wait_pool_full()
                    h0, m0 = self.pool_counters()
                    self.timed(r, lambda: self.maint.execute(
                        "SELECT mint.clone(%s, %s)", (POOL_TEMPLATE, "bench_pooled_b2b")).fetchone())
                    h1, m1 = self.pool_counters()
                    r.extra["hits"] += h1 - h0
                    r.extra["misses"] += m1 - m0
                self.settle()
            out.append((rb, None, pool_b2b))
        else:
            self.results.append(r)
        return out

    # ---- warm pool ---------------------------------------------------------
    def pool_setup(self, r):
        try:
            self.build_template(POOL_TEMPLATE)
            self.maint.execute("SELECT mint.set_pool(%s, %s)", (POOL_TEMPLATE, self.args.spares))
        except psycopg.Error as e:
            r.skipped = (f"warm pool not available: {sqlstate_of(e)} "
                         f"{str(e).strip().splitlines()[0]}")
            log("pool:", r.skipped)
            return False
        self.pool = True
        r.note = (f"pool of {self.args.spares} spares; each run waits (untimed) for a full pool "
                  "and for the refiller to exit, then takes one")
        # first fill: the pool must produce spares at all
        if not self.wait_pool_full(deadline=120):
            r.skipped = "warm pool never filled (mint.pools.ready stayed below target_size for 120 s)"
            self.maint.execute("SELECT mint.set_pool(%s, 0)", (POOL_TEMPLATE,))
            self.pool = False
            return False
        return True

    def pool_counters(self):
        row = self.maint.execute("SELECT hits, misses FROM mint.pools WHERE template = %s",
                                 (POOL_TEMPLATE,)).fetchone()
        return (row[0], row[1]) if row else (0, 0)

    def wait_refiller_gone(self, deadline=SETTLE_DEADLINE):
        """Poll until no pool worker of pg_mint runs (they exit ~2 s after their last work)."""
        end = time.monotonic() + deadline
        while one(self.maint, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint pool'"):
            if time.monotonic() > end:
                return False
            time.sleep(0.02)
        return True

    def wait_pool_full(self, deadline=SETTLE_DEADLINE):
        end = time.monotonic() + deadline
        while True:
            row = self.maint.execute("SELECT ready, target_size FROM mint.pools WHERE template = %s",
                                     (POOL_TEMPLATE,)).fetchone()
            if row and row[0] >= row[1]:
                return True
            if time.monotonic() > end:
                return False
            time.sleep(0.005)

    # ---- 8 workers at once ------------------------------------------------
    def parallel(self, res, fns, setup_sql=None):
        """Run fns concurrently (one thread and one connection each, opened
        beforehand); time from the common start until the last one is done."""
        n = len(fns)
        conns = [connect() for _ in range(n)]
        if setup_sql:
            for c in conns:
                c.execute(setup_sql)
        start = threading.Barrier(n + 1)
        errs = [None] * n

        def work(i):
            start.wait()
            try:
                fns[i](conns[i])
            except psycopg.Error as e:
                errs[i] = e
        ths = [threading.Thread(target=work, args=(i,)) for i in range(n)]
        for t in ths:
            t.start()
        start.wait()
        t0 = time.perf_counter_ns()
        for t in ths:
            t.join()
        ms = (time.perf_counter_ns() - t0) / 1e6
        for c in conns:
            c.close()
        first = next((e for e in errs if e is not None), None)
        res.add(ms, first)
        if first is not None:
            log(f"{res.key}: {sum(e is not None for e in errs)} of {n} workers failed: {first}")

    def parallel_contenders(self):
        out = []
        n = WORKERS
        dflt = self.strategies[0]
        names = lambda p: [f"{p}{i}" for i in range(1, n + 1)]

        for s in self.strategies:
            label = f"6 {n} at once: floor" + (f" STRATEGY {s}" if s else "") + (" (default)" if s == dflt else "")
            r = Result(f"par_floor_{s or 'default'}", label, "par")
            clause = f" STRATEGY {s}" if s else ""

            def pfloor(r=r, clause=clause):
                tg = names("bench_pf")
                for t in tg:
                    self.drop(t)
                self.parallel(r, [lambda c, t=t: c.execute(
                    f'CREATE DATABASE "{t}" TEMPLATE "{TEMPLATE}"{clause}') for t in tg])
                for t in tg:
                    self.drop(t)
            out.append((r, None, pfloor))

        r = Result("par_migrate", f"6 {n} at once: migrate", "par")

        def pmigrate(r=r):
            tg = names("bench_pm")
            for t in tg:
                self.drop(t)

            def go(c, t):
                c.execute(f'CREATE DATABASE "{t}"')
                with connect(t) as c2:
                    c2.execute(self.schema_sql)
            self.parallel(r, [lambda c, t=t: go(c, t) for t in tg])
            for t in tg:
                self.drop(t)
        out.append((r, self.args.par_migrate_runs, pmigrate))

        r = Result("par_recipe", f"6 {n} at once: client-side recipe", "par",
                   "one advisory lock key per worker (workers do not serialize each other)")

        def precipe(r=r):
            tg = names("bench_pr")
            for t in tg:
                if not self.exists(t):
                    self.maint.execute(f'CREATE DATABASE "{t}" TEMPLATE "{TEMPLATE}"')
            self.parallel(r, [lambda c, t=t: self.recipe(c, TEMPLATE, t, self.key_of(t)) for t in tg])
        out.append((r, None, precipe))

        if self.ext:
            r = Result("par_mint", f"6 {n} at once: `mint.clone` replacing worker dbs", "par")

            def pmint(r=r):
                tg = names("bench_pmint")
                self.parallel(r, [lambda c, t=t: c.execute(
                    "SELECT mint.clone(%s, %s)", (TEMPLATE, t)).fetchone() for t in tg])
                self.settle()
            out.append((r, None, pmint))
            if "file_copy" in self.strategies and "wal_log" in self.strategies:
                r = Result("par_mint_fc", f"6 {n} at once: `mint.clone`, `pg_mint.strategy = file_copy`", "par")

                def pmint_fc(r=r):
                    tg = names("bench_pmint")
                    self.parallel(r, [lambda c, t=t: c.execute(
                        "SELECT mint.clone(%s, %s)", (TEMPLATE, t)).fetchone() for t in tg],
                        setup_sql="SET pg_mint.strategy = file_copy")
                    self.settle()
                out.append((r, None, pmint_fc))
        else:
            r = Result("par_mint", f"6 {n} at once: `mint.clone` replacing worker dbs", "par")
            r.skipped = "pg_mint extension not used" if self.args.no_extension else "pg_mint extension not available"
            self.results.append(r)
        return out

    # ---- the run -------------------------------------------------------------
    def warm_up(self):
        """Create the worker databases the 'replace' contenders start from."""
        for t in ["bench_recipe", "bench_recipe_it"] + [f"bench_pr{i}" for i in range(1, WORKERS + 1)]:
            if not self.exists(t):
                self.maint.execute(f'CREATE DATABASE "{t}" TEMPLATE "{TEMPLATE}"')
        if self.ext:
            for t in ["bench_mint", "bench_mint_it"] + [f"bench_pmint{i}" for i in range(1, WORKERS + 1)]:
                self.maint.execute("SELECT mint.clone(%s, %s)", (TEMPLATE, t))
            self.settle()

    def interleave(self, cons, rounds, phase, warmup=False):
        for k in range(rounds):
            # contenders with a run limit (the 5 s failure) sit out the warm-up
            todo = [(r, fn) for (r, lim, fn) in cons
                    if (lim is None if warmup else (lim is None or k < lim))
                    and (not self.args.only or r.key in self.args.only)]
            self.rng.shuffle(todo)
            for r, fn in todo:
                try:
                    fn()
                except psycopg.Error as e:
                    # a failure outside the timed section (setup/cleanup): note it, go on
                    msg = f"{r.key}: untimed step failed in round {k + 1}: {sqlstate_of(e)} {str(e).strip().splitlines()[0]}"
                    log(msg)
                    self.notes.append(msg)
            log(f"{phase} round {k + 1}/{rounds} done")

    def run(self):
        self.setup()
        log(f"template built in {self.facts['template_build_ms']:.0f} ms, "
            f"{self.facts['template_size']}; pg_mint: {'yes' if self.ext else 'no'}")
        seq = self.contenders()
        self.warm_up()
        self.maint.execute("CHECKPOINT")
        if self.args.warmup:
            # unrecorded rounds: caches, catalogs and the checkpointer settle
            self.interleave(seq, self.args.warmup, "warm-up", warmup=True)
            for r, _, _ in seq:
                r.times, r.errors = [], []
                for k in r.extra:
                    r.extra[k] = 0
        self.interleave(seq, self.args.rounds, "sequential")
        par = self.parallel_contenders()
        if self.args.warmup:
            self.interleave(par, 1, "8 workers warm-up", warmup=True)
            for r, _, _ in par:
                r.times, r.errors = [], []
        self.interleave(par, self.args.par_rounds, "8 workers")
        if self.pool:
            self.maint.execute("SELECT mint.set_pool(%s, 0)", (POOL_TEMPLATE,))
        self.results = [r for (r, _, _) in seq] + [r for (r, _, _) in par] + self.results
        self.results.append(self.rtt)

    # ---- output --------------------------------------------------------------
    @staticmethod
    def short_label(r):
        k = r.key
        par = k.startswith("par_")
        k = k[4:] if par else k
        names = {"migrate": "migrate", "recipe": "recipe", "mint": "mint.clone",
                 "mint_fc": "mint.clone file copy",
                 "recipe_idle_target": "recipe, idle on target",
                 "mint_idle_target": "mint.clone, idle on target",
                 "recipe_idle_template": "recipe, idle on template (fails)",
                 "pool": "mint.clone, warm pool",
                 "pool_idle_ref": "catalog query, same place",
                 "pool_b2b": "warm pool, back to back"}
        if k.startswith("floor_"):
            name = "floor " + k[6:].replace("_", " ")
        else:
            name = names.get(k, k)
        return ("8x " + name) if par else name

    def report(self):
        out = self.args.out
        os.makedirs(out, exist_ok=True)
        f = self.facts
        order = ["migrate", "recipe", "floor_wal_log", "floor_file_copy", "floor_default",
                 "mint", "recipe_idle_target", "mint_idle_target", "recipe_idle_template",
                 "par_floor_wal_log", "par_floor_file_copy", "par_floor_default",
                 "par_migrate", "par_recipe", "par_mint", "par_mint_fc", "pool", "pool_idle_ref", "pool_b2b", "rtt"]
        self.results.sort(key=lambda r: order.index(r.key) if r.key in order else 99)
        by = {r.key: r for r in self.results}
        dflt = "floor_" + (self.strategies[0] or "default")
        floor_seq = (by[dflt].stats() or {}).get("p50")
        floor_par = (by["par_" + dflt].stats() or {}).get("p50")
        par_floors = [by[k].stats()["p50"] for k in by
                      if k.startswith("par_floor_") and by[k].stats()]
        best_par_floor = min(par_floors) if par_floors else None

        def fmt(x):
            if x is None:
                return "–"
            return f"{x:.2f}" if x < 10 else f"{x:.0f}" if x >= 100 else f"{x:.1f}"

        lines = []
        w = lines.append
        w("# pg_mint benchmark results")
        w("")
        w(f"- date: {f['date']} ({f['mode']} run: {self.args.rounds} interleaved rounds, "
          f"{self.args.par_rounds} rounds of {WORKERS} workers)")
        w(f"- server: {f['server_version']}")
        w(f"- settings: fsync={f['fsync']}, synchronous_commit={f['synchronous_commit']}, "
          f"full_page_writes={f['full_page_writes']}, shared_buffers={f['shared_buffers']}, "
          f"max_wal_size={f['max_wal_size']}, max_worker_processes={f['max_worker_processes']}, "
          f"default CREATE DATABASE strategy={f['default_strategy']}")
        w(f"- machine: {f['cores']} cores{', ' + f['cpu'] if 'cpu' in f else ''}; {f['machine']}")
        w(f"- template: {f['template_tables']} tables, {f['template_indexes']} indexes, "
          f"{f['template_fks']} foreign keys, {f['template_user_data']} of table and index data, "
          f"database size {f['template_size']}; built in {f['template_build_ms']:.0f} ms"
          f"{' through mint.template_begin/finish' if self.ext else ' by hand'}")
        w(f"- pg_mint: {f.get('pg_mint', 'not installed')}; driver: {f['driver']}, "
          f"round trip p50 {fmt(self.rtt.stats()['p50'])} ms")
        w("")
        w("Times in milliseconds. Ratio = p50 / p50 of the floor with the server's default strategy "
          "(one worker: the sequential floor; 8 at once: the 8-way floor).")
        w("")
        w("| contender | runs | failed | p50 | p95 | max | ratio to floor |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        chart = []
        for r in self.results:
            if r.key == "rtt":
                continue
            st = r.stats()
            if r.skipped or not st:
                w(f"| {r.label} | 0 | – | – | – | – | skipped: {r.skipped or 'no runs'} |")
                continue
            base = floor_par if r.group == "par" else floor_seq
            ratio = f"{st['p50'] / base:.2f}×" if base else "–"
            failed = str(st["failures"])
            if r.errors:
                codes = sorted({e[1] for e in r.errors})
                failed += " (" + ", ".join(codes) + ")"
            w(f"| {r.label} | {st['runs']} | {failed} | {fmt(st['p50'])} | {fmt(st['p95'])} | "
              f"{fmt(st['max'])} | {ratio} |")
            kind = 2 if st["failures"] else (1 if r.group == "par" else 0)
            chart.append((self.short_label(r), st["p50"], st["p95"], kind))
        w("")
        notes = []
        for r in self.results:
            bits = []
            if r.note:
                bits.append(r.note)
            if r.extra:
                bits.append(", ".join(f"{k}={v}" for k, v in r.extra.items()))
            if r.errors:
                e = r.errors[0]
                bits.append(f"first error: {e[1]} {e[2]}")
            if bits and r.key != "rtt":
                notes.append(f"- {r.label}: " + "; ".join(bits))
        if notes or self.notes:
            w("Notes:")
            w("")
            lines.extend(notes)
            lines.extend(f"- {n}" for n in self.notes)
            w("")

        # where we stand versus the targets of issue 5 / issue 6
        w("## Targets")
        w("")
        w("| target | measured | verdict |")
        w("| --- | --- | --- |")

        def p50(k):
            r = by.get(k)
            st = r.stats() if r and not r.skipped else None
            return st["p50"] if st else None

        def verdict(ok):
            return "–" if ok is None else ("met" if ok else "not met")
        m = p50("mint")
        w(f"| `mint.clone` replacing a worker db: p50 ≤ floor p50 | {fmt(m)} ms vs {fmt(floor_seq)} ms | "
          f"{verdict(None if m is None or floor_seq is None else m <= floor_seq)} |")
        mi = p50("mint_idle_target")
        extra = None if mi is None or m is None else mi - m
        w(f"| stray session on the target adds < 50 ms | {fmt(extra)} ms "
          f"(`mint.clone` {fmt(mi)} vs {fmt(m)}; recipe {fmt(p50('recipe_idle_target'))} vs {fmt(p50('recipe'))}) | "
          f"{verdict(None if extra is None else extra < 50)} |")
        rt = by.get("recipe_idle_template")
        if rt and rt.stats():
            w(f"| (reference) recipe with a session on the template | {fmt(rt.stats()['p50'])} ms, "
              f"{rt.stats()['failures']} of {rt.stats()['runs']} failed | – |")
        pm = p50("par_mint")
        pfc = p50("par_mint_fc")
        if pfc is not None and pm is not None and pfc < pm:
            pm = pfc
        ok = None if pm is None or best_par_floor is None else pm <= 1.3 * best_par_floor
        w(f"| {WORKERS} workers at once within 1.3× of the best 8-way floor (best `mint.clone` row) | {fmt(pm)} ms vs "
          f"{fmt(best_par_floor)} ms ({fmt(pm / best_par_floor) if ok is not None else '–'}×) | {verdict(ok)} |")
        for key, what in (("pool_b2b", "back to back (a fresh database per test)"),
                          ("pool", "one isolated hit (the refiller has exited; the hit starts one)")):
            pp = p50(key)
            ok = None if pp is None or floor_seq is None else (pp <= 1.0 and pp * 20 <= floor_seq)
            hits = by[key].extra.get("hits") if key in by else None
            hit_note = f", {hits} of {by[key].stats()['runs']} runs were pool hits" if pp and hits is not None else ""
            ref = p50("pool_idle_ref") if key == "pool" else None
            ref_note = (f"; a trivial catalog query in the same place takes {fmt(ref)} ms on this machine"
                        if ref is not None else "")
            w(f"| pool hit p50 ≤ 1 ms and ≥ 20× faster than the floor: {what} | {fmt(pp)} ms vs {fmt(floor_seq)} ms"
              f"{f' ({floor_seq / pp:.0f}× faster{hit_note}{ref_note})' if pp else ''} | {verdict(ok)} |")
        w("")
        md = "\n".join(lines) + "\n"
        with open(os.path.join(out, "results.md"), "w") as fh:
            fh.write(md)
        with open(os.path.join(out, "chart.dat"), "w") as fh:
            fh.write("# label p50 p95 kind (0 one worker, 1 eight at once, 2 runs failed)\n")
            # one-worker bars first, then the 8-worker ones
            for (label, a, b, g) in sorted(chart, key=lambda c: c[3] == 1):
                fh.write(f"\"{label}\" {a:.3f} {b:.3f} {g}\n")
        raw = {"facts": f, "notes": self.notes,
               "results": [{"key": r.key, "label": r.label, "group": r.group,
                            "skipped": r.skipped, "times_ms": r.times, "errors": r.errors,
                            "extra": r.extra, "stats": r.stats()} for r in self.results]}
        with open(os.path.join(out, "results.json"), "w") as fh:
            json.dump(raw, fh, indent=1, default=str)
        sys.stdout.write(md)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--par-rounds", type=int)
    ap.add_argument("--spares", type=int, default=2)
    ap.add_argument("--only", type=lambda v: v.split(","), default=None,
                    help="comma-separated contender keys to run (for development; the report lists the others as 0 runs)")
    ap.add_argument("--no-extension", action="store_true",
                    help="do not use pg_mint: measure contenders 1-3 only")
    a = ap.parse_args()
    if a.rounds is None:
        a.rounds = 2 if a.quick else 25
    if a.par_rounds is None:
        a.par_rounds = 1 if a.quick else 8
    a.warmup = 0 if a.quick else 2
    a.template_idle_runs = 1 if a.quick else 2
    a.par_migrate_runs = 1 if a.quick else 4
    b = Bench(a)
    b.run()
    b.report()


if __name__ == "__main__":
    main()
