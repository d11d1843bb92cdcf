"""fault_stray.py CONNINFO -- case 2: stray sessions on the clone target.

  a. an idle session and a session idle inside an open transaction (holding
     row and table locks) on the target: clone replaces it in well under the
     5 s PostgreSQL would wait, the stray sessions are ended, the new target
     is a fresh copy, the old copy is dropped;
  b. clients that reconnect to the target in a loop (bounded, they stop by
     themselves) while clone replaces it again and again;
  c. a prepared transaction on the target: clone, drop and gc fail or skip
     with a clear error naming the transaction, and nothing is dropped,
     renamed or closed to connections.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import psycopg  # noqa: E402
from mintlib import (guard, Report, call, connect, q, q1, wait_until, databases, private_dbs,  # noqa: E402
                     registry, quiet, build_template, clone_is_complete, ms)

TPL = "fault_stray_tpl"
TARGET = "fault_stray_c"
FAST_S = 2.0


def alive(c):
    try:
        q(c, "SELECT 1")
        return True
    except psycopg.Error:
        return False


def main():
    conninfo = sys.argv[1]
    rep = Report()
    mon = connect(conninfo, appname="fault_monitor")
    build_template(conninfo, TPL, "fp")
    o = call(mon, "SELECT mint.clone(%s, %s)", (TPL, TARGET))
    rep.check("setup: first clone", o.ok, o)

    # ---- a. idle and idle-in-transaction sessions ----------------------------
    old_oid = databases(mon)[TARGET]
    with connect(conninfo, dbname=TARGET) as c:
        q(c, "INSERT INTO account (email) VALUES ('old@data')")
    idle = connect(conninfo, dbname=TARGET, appname="fault_stray_idle")
    q(idle, "SELECT 1")
    intx = connect(conninfo, dbname=TARGET, autocommit=False, appname="fault_stray_intx")
    q(intx, "UPDATE account SET email = 'locked@row' WHERE email = 'old@data'")
    q(intx, "LOCK TABLE item_0 IN ACCESS EXCLUSIVE MODE")
    st = q1(mon, "SELECT string_agg(state, ',' ORDER BY state) FROM pg_stat_activity WHERE datname = %s",
            (TARGET,))
    rep.check("a: an idle and an idle-in-transaction session sit on the target",
              st == "idle,idle in transaction", st)
    o = call(mon, "SELECT mint.clone(%s, %s)", (TPL, TARGET))
    rep.check("a: clone over idle + in-transaction sessions succeeds in < %.0f s (%s ms)" % (FAST_S, ms(o.elapsed)),
              o.ok and o.elapsed < FAST_S, o)
    rep.metric("clone_over_stray_sessions_ms", ms(o.elapsed))
    rep.check("a: both stray sessions were ended", not alive(idle) and not alive(intx))
    new_oid = databases(mon).get(TARGET)
    rep.check("a: the target is a new database", new_oid is not None and new_oid != old_oid, (old_oid, new_oid))
    with connect(conninfo, dbname=TARGET) as c:
        n = q1(c, "SELECT count(*) FROM account")
    rep.check("a: the new target is a fresh copy (rows of the old one are gone)", n == 0, n)
    complete, why = clone_is_complete(conninfo, TARGET)
    rep.check("a: the new target has the whole schema", complete, why)
    gone = wait_until(lambda: old_oid not in databases(mon).values() and not private_dbs(mon), 10, 0.01)
    rep.check("a: the replaced copy is dropped (no _mint_ database left)", gone, private_dbs(mon))

    # ---- b. reconnecting clients ---------------------------------------------
    stop = threading.Event()
    stats = {"hold_ok": 0, "hold_err": 0, "short_ok": 0, "short_err": 0}
    mu = threading.Lock()

    def bump(k):
        with mu:
            stats[k] += 1

    def hold_loop():
        # connects and stays connected; when its session is ended, reconnects at once
        deadline = time.monotonic() + 8
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                with connect(conninfo, dbname=TARGET, appname="fault_stray_hold") as c:
                    bump("hold_ok")
                    while not stop.is_set() and time.monotonic() < deadline:
                        q(c, "SELECT pg_sleep(0.002)")
            except psycopg.Error:
                bump("hold_err")

    def short_loop():
        # connect, query, disconnect, as fast as it can
        deadline = time.monotonic() + 8
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                with connect(conninfo, dbname=TARGET, appname="fault_stray_short") as c:
                    q(c, "SELECT count(*) FROM account")
                bump("short_ok")
            except psycopg.Error:
                bump("short_err")

    loops = [threading.Thread(target=hold_loop) for _ in range(2)] + \
            [threading.Thread(target=short_loop) for _ in range(2)]
    for t in loops:
        t.start()
    wait_until(lambda: stats["hold_ok"] >= 2 and stats["short_ok"] >= 2, 5)
    times = []
    fails = []
    for i in range(6):
        before = dict(stats)
        o = call(mon, "SELECT mint.clone(%s, %s)", (TPL, TARGET))
        times.append(ms(o.elapsed))
        if not o.ok:
            fails.append(o)
        # let the loopers get back in (a few short sessions too) before the next round
        wait_until(lambda: stats["hold_ok"] > before["hold_ok"] and stats["short_ok"] >= before["short_ok"] + 3, 3)
    stop.set()
    for t in loops:
        t.join(15)
    rep.check("b: the reconnect loops stopped by themselves", not any(t.is_alive() for t in loops))
    rep.check("b: 6 clones while 4 clients reconnect in a loop all succeed, each < %.0f s (max %s ms)"
              % (FAST_S, max(times)), not fails and max(times) < FAST_S * 1000, (times, fails))
    rep.check("b: the loops really hammered the target (connections made between the swaps)",
              stats["hold_ok"] >= 8 and stats["short_ok"] >= 20, stats)
    rep.metric("reconnect_loop_clone_ms", times)
    rep.metric("reconnect_loop_connections", stats)
    complete, why = clone_is_complete(conninfo, TARGET)
    rep.check("b: after the swaps the target is a complete copy", complete, why)
    gone = wait_until(lambda: not private_dbs(mon) and quiet(mon, 0.01), 10, 0.01)
    rep.check("b: all replaced copies are dropped, no worker left", gone, private_dbs(mon))

    # ---- c. prepared transaction -------------------------------------------
    gid = "fault_gid_%d" % os.getpid()
    pc = connect(conninfo, dbname=TARGET, autocommit=False)
    q(pc, "INSERT INTO account (email) VALUES ('prepared@x')")
    q(pc, "PREPARE TRANSACTION '%s'" % gid)
    pc.close()
    oid = databases(mon)[TARGET]
    before_reg = registry(mon)

    def untouched(label):
        d = databases(mon)
        allow = q1(mon, "SELECT datallowconn FROM pg_database WHERE datname = %s", (TARGET,))
        reg = registry(mon).get(TARGET)
        rep.check("c: after %s the target is untouched (same OID, accepts connections, registry 'ready')" % label,
                  d.get(TARGET) == oid and allow is True and reg is not None and reg["state"] == "ready"
                  and not private_dbs(mon), (d.get(TARGET), oid, allow, reg, private_dbs(mon)))

    o = call(mon, "SELECT mint.clone(%s, %s)", (TPL, TARGET))
    rep.check("c: clone over a prepared transaction fails with 55006 naming it",
              o.sqlstate == "55006" and gid in (o.message or ""), o)
    untouched("the failed clone")
    o = call(mon, "SELECT mint.drop(%s)", (TARGET,))
    rep.check("c: drop fails with 55006 naming the prepared transaction",
              o.sqlstate == "55006" and gid in (o.message or ""), o)
    untouched("the failed drop")
    o = call(mon, "SELECT string_agg(g::text, ',') FROM mint.gc('0') g")
    rep.check("c: gc('0') either skips the target or fails naming the prepared transaction",
              (o.ok and TARGET not in (o.value or "").split(",")) or
              (o.sqlstate == "55006" and gid in (o.message or "")), o)
    untouched("gc('0')")
    rep.check("c: registry unchanged by the failed calls", registry(mon) == before_reg,
              (before_reg, registry(mon)))

    # the user can finish the prepared transaction as the hint says
    allow = q1(mon, "SELECT datallowconn FROM pg_database WHERE datname = %s", (TARGET,))
    if not allow:
        q(mon, 'ALTER DATABASE "%s" ALLOW_CONNECTIONS true' % TARGET)  # repair what gc left, to go on
    with connect(conninfo, dbname=TARGET) as c:
        q(c, "ROLLBACK PREPARED '%s'" % gid)
    if registry(mon).get(TARGET, {}).get("state") != "ready":
        # gc left it 'dropping': let gc finish the job so the rest can run
        call(mon, "SELECT count(*) FROM mint.gc('0')")
    o = call(mon, "SELECT mint.clone(%s, %s)", (TPL, TARGET))
    rep.check("c: once the prepared transaction is gone, clone works again", o.ok, o)
    o = call(mon, "SELECT mint.drop(%s)", (TARGET,))
    rep.check("c: and drop works", o.ok and o.value is True, o)

    # ---- d. the finished template itself refuses stray sessions ----------------
    try:
        connect(conninfo, dbname=TPL).close()
        refused = False
    except psycopg.Error as e:
        refused = "not currently accepting connections" in str(e)
    rep.check("d: nobody can connect to a finished template (so no stray session can block clones)", refused)

    rep.check("end: no pg_mint worker, no lock, no private database",
              quiet(mon, 10) and not private_dbs(mon), private_dbs(mon))
    mon.close()
    rep.dump()


if __name__ == "__main__":
    guard(main)
