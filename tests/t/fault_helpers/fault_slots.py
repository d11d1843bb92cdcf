"""fault_slots.py CONNINFO -- case 3: more callers than background worker slots.

Run against a server with max_worker_processes = 4 (one slot is taken by
the logical replication launcher).
  A. 24 concurrent clone calls for different targets, default
     pg_mint.worker_wait_timeout: all succeed, every clone is complete;
     then 24 concurrent drops: all succeed.
  B. the slots are held busy (the first workers wait on a lock on the
     template) and 24 callers use pg_mint.worker_wait_timeout = 300ms: the
     late ones fail with 53400 and a message about worker slots, leave no
     database and no registry row; the early ones succeed once the lock goes.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mintlib import (guard, Report, call, connect, q, q1, wait_until, databases, private_dbs,  # noqa: E402
                     registry, quiet, build_template, clone_is_complete, ms)

TPL = "fault_slots_tpl"
N = 24


def run_parallel(conninfo, fn, n, setup_sql=None):
    """Run fn(conn, i) in n threads with their own connections, started together."""
    conns = [connect(conninfo, appname="fault_slots_%d" % i) for i in range(n)]
    if setup_sql:
        for c in conns:
            q(c, setup_sql)
    results = [None] * n
    barrier = threading.Barrier(n)

    def body(i):
        barrier.wait()
        results[i] = fn(conns[i], i)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results, conns


def sampler(mon_info, stop, out):
    mon = connect(mon_info, appname="fault_sampler")
    while not stop.is_set():
        w = q1(mon, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'")
        s = q1(mon, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                    " AND wait_event = 'Extension' AND query LIKE '%%mint.%%'")
        out["max_workers"] = max(out.get("max_workers", 0), w)
        out["max_slot_waiters"] = max(out.get("max_slot_waiters", 0), s)
        time.sleep(0.005)
    mon.close()


def main():
    conninfo = sys.argv[1]
    rep = Report()
    mon = connect(conninfo, appname="fault_monitor")
    mwp = int(q1(mon, "SHOW max_worker_processes"))
    rep.check("setup: max_worker_processes = 4", mwp == 4, mwp)
    build_template(conninfo, TPL, "fp")
    before = set(databases(mon))

    # ---- A. 24 clones, default timeout -------------------------------------
    stop = threading.Event()
    seen = {}
    smp = threading.Thread(target=sampler, args=(conninfo, stop, seen))
    smp.start()
    t0 = time.monotonic()
    threads, res, conns = run_parallel(
        conninfo, lambda c, i: call(c, "SELECT mint.clone(%s, %s)", (TPL, "fault_slot_%02d" % i)), N)
    for t in threads:
        t.join(120)
    total = time.monotonic() - t0
    stop.set()
    smp.join()
    for c in conns:
        c.close()
    bad = [(i, r) for i, r in enumerate(res) if r is None or not r.ok]
    rep.check("A: 24 concurrent clones with 4 worker slots all succeed (%s ms in all)" % ms(total), not bad, bad)
    rep.check("A: never more pg_mint workers at once than slots (max seen %s)" % seen.get("max_workers"),
              0 < seen.get("max_workers", 0) <= 4, seen)
    rep.check("A: callers really queued for a slot (max %s waiting at once)" % seen.get("max_slot_waiters"),
              seen.get("max_slot_waiters", 0) > 0, seen)
    rep.metric("A_24_clones_ms", ms(total))
    rep.metric("A_max_workers_at_once", seen.get("max_workers"))
    rep.metric("A_max_callers_waiting_for_slot", seen.get("max_slot_waiters"))
    reg = registry(mon)
    missing = []
    for i in range(N):
        name = "fault_slot_%02d" % i
        ok, why = clone_is_complete(conninfo, name)
        if not ok or reg.get(name, {}).get("state") != "ready":
            missing.append((name, why, reg.get(name)))
    rep.check("A: all 24 clones exist, are registered 'ready' and complete", not missing, missing)

    threads, res, conns = run_parallel(
        conninfo, lambda c, i: call(c, "SELECT mint.drop(%s)", ("fault_slot_%02d" % i,)), N)
    for t in threads:
        t.join(120)
    for c in conns:
        c.close()
    bad = [(i, r) for i, r in enumerate(res) if r is None or not r.ok or r.value is not True]
    rep.check("A: 24 concurrent drops all succeed", not bad, bad)
    left = set(databases(mon)) - before
    rep.check("A: nothing left after the drops", not left and quiet(mon, 10), left)

    # ---- B. short timeout, slots held busy ----------------------------------
    lock = connect(conninfo, autocommit=False, appname="fault_slots_lock")
    q(lock, 'COMMENT ON DATABASE "%s" IS \'held\'' % TPL)  # conflicts with CREATE DATABASE ... TEMPLATE
    threads, res, conns = run_parallel(
        conninfo, lambda c, i: call(c, "SELECT mint.clone(%s, %s)", (TPL, "fault_late_%02d" % i)), N,
        setup_sql="SET pg_mint.worker_wait_timeout = '300ms'")

    def settled():
        done = sum(1 for r in res if r is not None)
        return done + q1(mon, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'") == N

    ok_settled = wait_until(settled, 20, 0.01)
    busy = q1(mon, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'")
    rep.check("B: the free slots are busy (%s workers wait on the template lock), the rest gave up" % busy,
              ok_settled and busy >= 1, (busy, [r for r in res if r is not None][:3]))
    lock.commit()
    lock.close()
    for t in threads:
        t.join(60)
    for c in conns:
        c.close()
    late = [(i, r) for i, r in enumerate(res) if r is not None and not r.ok]
    won = [(i, r) for i, r in enumerate(res) if r is not None and r.ok]
    wrong = [(i, r) for i, r in late if r.sqlstate != "53400" or "background worker slots" not in (r.message or "")]
    rep.check("B: %d late callers failed, all with 53400 naming the worker slots" % len(late),
              len(late) >= N - 4 and not wrong, wrong)
    rep.check("B: they failed after the 300 ms timeout, not at once (%s..%s ms)"
              % (min([ms(r.elapsed) for _, r in late] or [0]), max([ms(r.elapsed) for _, r in late] or [0])),
              late and all(0.29 <= r.elapsed < 3 for _, r in late), [r.elapsed for _, r in late])
    rep.check("B: the %d early callers succeeded once the lock went" % len(won),
              len(won) == N - len(late) and len(won) >= 1, won)
    dbs = databases(mon)
    reg = registry(mon)
    behind = [("fault_late_%02d" % i) for i, _ in late
              if "fault_late_%02d" % i in dbs or "fault_late_%02d" % i in reg]
    rep.check("B: the late callers left no database and no registry row", not behind, behind)
    incomplete = [("fault_late_%02d" % i, clone_is_complete(conninfo, "fault_late_%02d" % i)[1]) for i, _ in won
                  if not clone_is_complete(conninfo, "fault_late_%02d" % i)[0]]
    rep.check("B: the early callers' clones are complete", not incomplete, incomplete)
    rep.metric("B_late_failed", len(late))
    rep.metric("B_early_succeeded", len(won))
    for i, _ in won:
        call(mon, "SELECT mint.drop(%s)", ("fault_late_%02d" % i,))
    left = set(databases(mon)) - before
    rep.check("end: no database, private copy, worker or lock left", not left and not private_dbs(mon)
              and quiet(mon, 10), left)
    mon.close()
    rep.dump()


if __name__ == "__main__":
    guard(main)
