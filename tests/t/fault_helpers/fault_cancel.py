"""fault_cancel.py CONNINFO -- case 5: statement_timeout and pg_cancel_backend.

Each call is made slow deterministically by a lock another session holds
(COMMENT ON DATABASE in an open transaction conflicts with CREATE DATABASE's
lock on its template and with the swap's lock on the replaced database), or
by another session's build:
  clone of a new target     worker waits in CREATE DATABASE ... TEMPLATE
  clone replacing a target  worker made the private copy, waits to swap
  template_begin waiting    another session is building the template
  template_begin working    worker waits in CREATE DATABASE (template1 held)
  clone, file_copy, 60 MB   a real slow copy, no lock involved
each cancelled once by statement_timeout and once by pg_cancel_backend.
Afterwards: SQLSTATE 57014, the pg_mint worker is gone, no database or
registry row was left behind, the target (if it existed) is untouched, no
pg_mint lock is held, and the same call works once the obstacle is gone.
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mintlib import (guard, Report, call, connect, q, q1, wait_until, databases, private_dbs,  # noqa: E402
                     registry, mint_locks, quiet, build_template, clone_is_complete, ms)

TPL = "fault_cancel_tpl"
BIG = "fault_cancel_big"


def worker_waits_on_lock(mon):
    return q1(mon, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                   " WHERE a.backend_type = 'pg_mint worker' AND NOT l.granted") >= 1


def main():
    conninfo = sys.argv[1]
    rep = Report()
    mon = connect(conninfo, appname="fault_monitor")
    build_template(conninfo, TPL, "fp")
    q(mon, "SELECT mint.clone(%s, %s)", (TPL, "fault_cancel_old"))
    timings = {}

    def run_case(label, how, query, params, hold_db=None, wait_fn=None, builder=None,
                 target=None, target_existed=False, setup=None, timeout_ms=500, retries=0):
        tag = "%s, %s" % (label, how)
        for attempt in range(retries + 1):
            landed = run_once(tag, how, query, params, hold_db, wait_fn, builder, target, target_existed,
                              setup, timeout_ms, last=(attempt == retries))
            if landed:
                break
            # the call finished before the interruption could land: undo and try again
            call(mon, "SELECT mint.drop(%s)", (params[1],))
        rep.metric("attempts: " + tag, attempt + 1)

    def run_once(tag, how, query, params, hold_db, wait_fn, builder, target, target_existed, setup,
                 timeout_ms, last):
        # a previous successful call may still be dropping its replaced copy
        # in the background: start from a quiet cluster
        quiet(mon)
        before_dbs = databases(mon)
        before_reg = registry(mon)
        holder = None
        if hold_db:
            holder = connect(conninfo, autocommit=False, appname="fault_cancel_holder")
            q(holder, 'COMMENT ON DATABASE "%s" IS \'held\'' % hold_db)
        c = connect(conninfo, appname="fault_cancel_caller")
        if setup:
            q(c, setup)
        pid = c.info.backend_pid
        if how == "statement_timeout":
            q(c, "SET statement_timeout = %d" % timeout_ms)
        res = {}

        def go():
            res["o"] = call(c, query, params)

        t = threading.Thread(target=go)
        t.start()
        reached = wait_until(lambda: wait_fn(pid), 10, 0.002)
        rep.check("%s: the call is in the phase to be interrupted" % tag, reached)
        if how == "pg_cancel_backend":
            q(mon, "SELECT pg_cancel_backend(%s)", (pid,))
        t.join(15)
        o = res.get("o")
        if o is not None and o.ok and not last:
            c.close()
            return False
        timings[tag] = ms(o.elapsed) if o else None
        rep.check("%s: the call fails with 57014 (%s ms)" % (tag, timings[tag]),
                  o is not None and o.sqlstate == "57014", o)
        # the cancelled session's executor has gone, and no other worker works
        gone = wait_until(lambda: q1(mon, "SELECT count(*) FROM pg_stat_activity"
                                          " WHERE backend_type = 'pg_mint worker'"
                                          "   AND (application_name = 'pg_mint worker for PID ' || %s"
                                          "        OR state IS DISTINCT FROM 'idle')", (pid,)) == 0, 5, 0.005)
        rep.check("%s: the pg_mint worker is gone" % tag, gone)
        mine = q1(mon, "SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'advisory'"
                       " AND database = 0 AND objsubid = 28020", (pid,))
        rep.check("%s: the cancelled session holds no pg_mint lock" % tag, mine == 0, mine)
        if holder:
            holder.rollback()
            holder.close()
        if builder is None:
            rep.check("%s: no pg_mint lock is held at all" % tag, not mint_locks(mon), mint_locks(mon))
        after_dbs = databases(mon)
        new = sorted(set(after_dbs) - set(before_dbs))
        rep.check("%s: no database left behind" % tag, not new, new)
        rep.check("%s: registry unchanged" % tag, registry(mon) == before_reg,
                  sorted(set(registry(mon)) ^ set(before_reg)))
        if target_existed:
            rep.check("%s: the target is untouched (same OID, complete)" % tag,
                      after_dbs.get(target) == before_dbs.get(target) and clone_is_complete(conninfo, target)[0])
        if builder is not None:
            builder()
            rep.check("%s: after the builder finished no pg_mint lock is held" % tag, quiet(mon, 5),
                      mint_locks(mon))
        # the call works once nothing is in its way
        q(c, "RESET statement_timeout")
        o2 = call(c, query, params)
        rep.check("%s: the same call then succeeds" % tag, o2.ok, o2)
        c.close()
        # remove what a failure may have left (keeps ready clones)
        call(mon, "SELECT count(*) FROM mint.gc('1 hour')")
        return True

    # clone of a new target: worker waits in CREATE DATABASE
    for how in ("statement_timeout", "pg_cancel_backend"):
        run_case("clone to a new target (worker in CREATE DATABASE)", how,
                 "SELECT mint.clone(%s, %s)", (TPL, "fault_cancel_new_" + how[:4]),
                 hold_db=TPL, wait_fn=lambda pid: worker_waits_on_lock(mon))
        call(mon, "SELECT mint.drop(%s)", ("fault_cancel_new_" + how[:4],))

    # clone replacing a target: private copy made, swap waits
    for how in ("statement_timeout", "pg_cancel_backend"):
        run_case("clone replacing a target (private copy made, swap waiting)", how,
                 "SELECT mint.clone(%s, %s)", (TPL, "fault_cancel_old"),
                 hold_db="fault_cancel_old", target="fault_cancel_old", target_existed=True,
                 wait_fn=lambda pid: worker_waits_on_lock(mon) and private_dbs(mon),
                 # the copy of the 76 MB template comes first and must fit in
                 # the timeout, also on a loaded machine; the swap then waits
                 # for the holder until the timeout ends it
                 timeout_ms=3000)

    # template_begin waiting for another builder
    for how in ("statement_timeout", "pg_cancel_backend"):
        bconn = connect(conninfo, appname="fault_cancel_builder")
        tplname = "fault_cancel_wait_" + how[:4]
        r = q1(bconn, "SELECT mint.template_begin(%s, %s)", (tplname, "fp"))
        rep.check("template_begin waiting, %s: another session is building" % how, r == "build", r)

        def finish(bconn=bconn, tplname=tplname):
            q(bconn, "SELECT mint.template_abort(%s)", (tplname,))
            bconn.close()

        run_case("template_begin waiting for another builder", how,
                 "SELECT mint.template_begin(%s, %s)", (tplname, "fp"), builder=finish,
                 wait_fn=lambda pid: q1(mon, "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted"
                                             " AND objsubid = 28020", (pid,)) == 1)
        # the successful retry left the caller's connection building; it is closed: gc cleans
        wait_until(lambda: quiet(mon, 0.01), 5)
        call(mon, "SELECT count(*) FROM mint.gc('1 hour')")

    # template_begin while its worker creates the template
    for how in ("statement_timeout", "pg_cancel_backend"):
        tplname = "fault_cancel_work_" + how[:4]
        run_case("template_begin in its worker (CREATE DATABASE waiting)", how,
                 "SELECT mint.template_begin(%s, %s)", (tplname, "fp"), hold_db="template1",
                 wait_fn=lambda pid: worker_waits_on_lock(mon))
        wait_until(lambda: quiet(mon, 0.01), 5)
        call(mon, "SELECT count(*) FROM mint.gc('1 hour')")

    # a genuinely slow copy: file_copy of a ~60 MB template
    build_template(conninfo, BIG, "fp", pad_rows=700000)
    size = q1(mon, "SELECT pg_database_size(%s)", (BIG,))
    rep.metric("big_template_mb", round(size / 1048576.0, 1))
    with connect(conninfo) as c:
        q(c, "SET pg_mint.strategy = file_copy")
        o = call(c, "SELECT mint.clone(%s, %s)", (BIG, "fault_cancel_bigc"))
    rep.metric("big_clone_file_copy_ms", ms(o.elapsed))
    call(mon, "SELECT mint.drop('fault_cancel_bigc')")
    for how in ("statement_timeout", "pg_cancel_backend"):
        run_case("clone, file_copy of %d MB (slow copy, no lock)" % round(size / 1048576.0), how,
                 "SELECT mint.clone(%s, %s)", (BIG, "fault_cancel_bigc"),
                 setup="SET pg_mint.strategy = file_copy", timeout_ms=60, retries=5,
                 wait_fn=lambda pid: how == "statement_timeout" or q1(
                     mon, "SELECT count(*) FROM pg_stat_activity WHERE backend_type"
                          " = 'pg_mint worker' AND query LIKE 'CREATE DATABASE%%'") == 1)
        call(mon, "SELECT mint.drop('fault_cancel_bigc')")

    rep.metric("cancelled_call_ms", timings)
    datadir = q1(mon, "SHOW data_directory")
    oids = {str(v) for v in databases(mon).values()}
    orphans = sorted(d for d in os.listdir(os.path.join(datadir, "base")) if d.isdigit() and d not in oids)
    rep.check("end: no orphaned database directory in base/", not orphans, orphans)
    rep.check("end: no worker, no lock, no private database", quiet(mon, 10) and not private_dbs(mon),
              private_dbs(mon))
    mon.close()
    rep.dump()


if __name__ == "__main__":
    guard(main)
