"""fault_crash.py load|check CONNINFO -- case 4: immediate shutdown mid-flight.

load:  puts pg_mint work in flight and holds it there, then prints READY and
       waits on stdin while the suite runs `pg_ctl stop -m immediate`:
         - clone replacing fault_crash_replace: private copy made, swap
           waiting (a session holds a lock on the old database);
         - mint.drop(fault_crash_drop): marked 'dropping', DROP waiting;
         - clone from fault_crash_tpl2 to a new target: CREATE DATABASE waiting;
         - a template build of fault_crash_bld half done (uncommitted DDL);
         - two clients replacing clones in a loop as fast as they can.
check: after the restart: nothing half-made is shown as usable, every
       'ready' clone is complete, mint.gc('0') removes every leftover, and a
       new run (template_begin -> build -> finish -> clone) works.
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import psycopg  # noqa: E402
from mintlib import (guard, Report, call, connect, q, q1, wait_until, databases, private_dbs,  # noqa: E402
                     registry, unfinished_rows, quiet, build_template, create_schema,
                     clone_is_complete)

TPL = "fault_crash_tpl"
TPL2 = "fault_crash_tpl2"
BLD = "fault_crash_bld"
KEEP = "fault_crash_keep"
REPLACE = "fault_crash_replace"
DROP = "fault_crash_drop"
NEW = "fault_crash_new"


def load(conninfo, rep):
    mon = connect(conninfo, appname="fault_monitor")
    build_template(conninfo, TPL, "fp")
    build_template(conninfo, TPL2, "fp")
    for t in (KEEP, REPLACE, DROP):
        o = call(mon, "SELECT mint.clone(%s, %s)", (TPL, t))
        rep.check("load: setup clone %s" % t, o.ok, o)
    oids = databases(mon)
    rep.metric("replace_oid_before", oids[REPLACE])

    holders = []

    def hold(db):
        c = connect(conninfo, autocommit=False, appname="fault_crash_holder")
        q(c, 'COMMENT ON DATABASE "%s" IS \'held\'' % db)
        holders.append(c)

    outcomes = {}
    threads = []

    def bg(key, query, params):
        def run():
            try:
                c = connect(conninfo, appname="fault_crash_" + key)
            except psycopg.Error as e:
                outcomes[key] = str(e)
                return
            outcomes[key] = call(c, query, params)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        threads.append(t)

    hold(REPLACE)
    bg("replace", "SELECT mint.clone(%s, %s)", (TPL, REPLACE))
    hold(DROP)
    bg("drop", "SELECT mint.drop(%s)", (DROP,))
    hold(TPL2)
    bg("new", "SELECT mint.clone(%s, %s)", (TPL2, NEW))

    b = connect(conninfo, appname="fault_crash_builder")
    r = q1(b, "SELECT mint.template_begin(%s, %s)", (BLD, "fp-1"))
    rep.check("load: build of %s started" % BLD, r == "build", r)
    bc = connect(conninfo, dbname=BLD, autocommit=False, appname="fault_crash_builder")
    create_schema(bc, 5, marker=False)  # uncommitted, half a schema

    stop = threading.Event()
    loops = {"ok": 0, "err": 0}

    def loop(k):
        try:
            c = connect(conninfo, appname="fault_crash_loop")
        except psycopg.Error:
            return
        while not stop.is_set():
            o = call(c, "SELECT mint.clone(%s, %s)", (TPL, "fault_crash_loop_%d" % k))
            loops["ok" if o.ok else "err"] += 1
            if o.sqlstate in ("CONN", "57P01", "08006", "08000", "08003") or c.closed or c.broken:
                return

    for k in range(2):
        t = threading.Thread(target=loop, args=(k,), daemon=True)
        t.start()
        threads.append(t)

    inflight = wait_until(lambda: (
        q1(mon, "SELECT count(*) FROM mint.registry WHERE datname LIKE '\\_mint\\_new\\_%%' AND state = 'building'") >= 1
        and q1(mon, "SELECT state FROM mint.registry WHERE datname = %s", (DROP,)) == "dropping"
        and q1(mon, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                    " WHERE a.backend_type = 'pg_mint worker' AND NOT l.granted AND l.locktype = 'object'") >= 3
        and loops["ok"] >= 2), 20, 0.01)
    rep.check("load: replace (private copy made), drop ('dropping'), new clone and a build are in flight,"
              " loops running", inflight,
              (unfinished_rows(mon), loops))
    sys.stdout.write("READY %d\n" % oids[REPLACE])
    sys.stdout.flush()
    sys.stdin.readline()  # the server is down now
    stop.set()
    for t in threads:
        t.join(10)
    rep.metric("loop_clones_before_crash", loops["ok"])
    hung = [t for t in threads if t.is_alive()]
    rep.check("load: every client saw the crash (no call hung)", not hung, len(hung))
    failed_calls = [k for k in ("replace", "drop", "new")
                    if not isinstance(outcomes.get(k), str) and outcomes.get(k) is not None and outcomes[k].ok]
    rep.check("load: none of the held calls claims success", not failed_calls, outcomes)


def check(conninfo, rep, replace_oid):
    mon = connect(conninfo, appname="fault_monitor")
    rep.check("after restart: no pg_mint worker, no pg_mint lock", quiet(mon, 5))
    left = unfinished_rows(mon)
    rep.metric("unfinished_rows_after_restart", [list(r) for r in left])
    rep.metric("private_dbs_after_restart", private_dbs(mon))
    rep.check("after restart: the crash left unfinished work for gc (%d rows)" % len(left),
              any(r[0].startswith("_mint_new_") for r in left) and (DROP, "clone", "dropping") in left
              and (BLD, "template", "building") in left, left)

    usable = q(mon, "SELECT datname, kind FROM mint.databases WHERE state = 'ready' ORDER BY 1")
    bad = []
    for name, kind in usable:
        if kind == "clone":
            ok, why = clone_is_complete(conninfo, name)
            if not ok:
                bad.append((name, why))
        elif name not in (TPL, TPL2):
            bad.append((name, "template shown ready"))
    rep.check("after restart: every database shown 'ready' is complete (%d checked), the half-built template is not"
              % len(usable), not bad, bad)
    rep.check("after restart: %s still points at its old, complete copy" % REPLACE,
              databases(mon).get(REPLACE) == replace_oid and clone_is_complete(conninfo, REPLACE)[0],
              (databases(mon).get(REPLACE), replace_oid))
    rep.check("after restart: the interrupted new clone %s does not exist or is not ready" % NEW,
              NEW not in databases(mon) or (registry(mon).get(NEW, {}).get("state") == "ready"
                                           and clone_is_complete(conninfo, NEW)[0]))
    r = call(mon, "SELECT mint.template_begin(%s, %s)", (TPL, "fp"))
    rep.check("after restart: a template finished before the crash still answers 'ready'", r.value == "ready", r)

    o = call(mon, "SELECT coalesce(string_agg(g::text, ',' ORDER BY g), '') FROM mint.gc('0') g")
    rep.check("gc('0') runs", o.ok, o)
    rep.metric("gc_removed", (o.value or "").split(",") if o.ok else o.message)
    rows = q(mon, "SELECT datname, state FROM mint.registry WHERE state <> 'ready'")
    rep.check("after gc: no 'building' or 'dropping' row", not rows, rows)
    rep.check("after gc: no _mint_ database", not private_dbs(mon), private_dbs(mon))
    stale = q(mon, "SELECT r.datname FROM mint.registry r LEFT JOIN pg_database d"
                   " ON d.oid = r.datid AND d.datname = r.datname WHERE d.oid IS NULL")
    rep.check("after gc: every registry row names an existing database", not stale, stale)
    rest = sorted(set(databases(mon)) - {"postgres", "template0", "template1"})
    rep.check("after gc: only the two finished templates are left", rest == sorted([TPL, TPL2]), rest)

    # a new run
    r = build_template(conninfo, BLD, "fp-2")
    rep.check("new run: template_begin on the crashed build says 'build', build and finish work", r == "build", r)
    r = q1(mon, "SELECT mint.template_begin(%s, %s)", (BLD, "fp-2"))
    rep.check("new run: the next template_begin says 'ready'", r == "ready", r)
    for tpl, target in ((BLD, "fault_crash_after"), (TPL, REPLACE)):
        o = call(mon, "SELECT mint.clone(%s, %s)", (tpl, target))
        ok, why = clone_is_complete(conninfo, target) if o.ok else (False, o)
        rep.check("new run: clone %s -> %s works and is complete" % (tpl, target), ok, why)
        call(mon, "SELECT mint.drop(%s)", (target,))
    rep.check("end: nothing left behind", quiet(mon, 10) and not private_dbs(mon)
              and not q(mon, "SELECT 1 FROM mint.registry WHERE kind <> 'template' OR state <> 'ready'"))


def main():
    mode, conninfo = sys.argv[1], sys.argv[2]
    rep = Report()
    try:
        if mode == "load":
            load(conninfo, rep)
        else:
            check(conninfo, rep, int(sys.argv[3]))
    finally:
        rep.dump()


if __name__ == "__main__":
    guard(main)
