"""fault_kill.py CONNINFO -- case 1: the template builder is SIGKILLed.

14 rounds.  In each, builder.py (a separate client process) reaches a point
of its build (during template_begin, right after it, mid-schema, right
before template_finish) and is killed with SIGKILL.  Checked every round:
  - while the builder lives it holds pg_mint's lock and a clone attempt
    waits instead of copying the unfinished template;
  - the next template_begin (already queued behind the builder, or sent right
    after the kill) returns 'build' within 1 s of the kill;
  - a clone attempted after the kill fails (template not finished) and makes
    nothing; a clone queued behind the new builder succeeds with the whole
    schema if the build is finished, and fails cleanly if it is aborted;
  - the killed client's backends are gone and no pg_mint lock is left.
"""
import os
import queue
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mintlib import (guard, Report, call, connect, q, q1, wait_until, databases, private_dbs,  # noqa: E402
                     mint_locks, quiet, create_schema, clone_is_complete, ms)

BUILDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "builder.py")
TPL = "fault_kill_tpl"
LIMIT_S = 1.0


class Proc:
    def __init__(self, args):
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, bufsize=1)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def expect(self, prefix, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            self.seen.append(line)
            if line.startswith(prefix):
                return line


def main():
    conninfo = sys.argv[1]
    rep = Report()
    mon = connect(conninfo, appname="fault_monitor")
    rounds = []
    for i in range(12):
        rounds.append(("after_begin", "mid_schema", "before_finish")[i % 3])
    rounds += ["during_begin", "during_begin"]
    latencies = []
    made_clones = []
    for i, point in enumerate(rounds):
        mode = "queued" if (i // 3) % 2 == 0 else "fresh"
        outcome = "finish" if (i // 6) % 2 == 0 else "abort"
        if point == "during_begin":
            mode = "fresh" if i % 2 == 0 else "queued"
            outcome = "finish"
        tag = "round %d (%s, %s waiter, then %s)" % (i, point, mode, outcome)
        # each round starts without the template: since 1.2 a new fingerprint
        # builds a second version beside the finished one, and the clones
        # below name no version (they must find exactly one)
        call(mon, "SELECT count(mint.drop(datname)) FROM mint.databases WHERE kind = 'template' AND version_of = %s",
             (TPL,))
        app = "fault_builder_%d" % i
        target = "fault_kill_c%d" % i
        b = Proc([sys.executable, BUILDER, conninfo, TPL, "fp-%d" % i, point, app])
        line = b.expect("PID", 20)
        if not rep.check("%s: builder connected" % tag, line, b.seen):
            b.p.kill()
            continue
        bpid = int(line.split()[1])
        at_kill = point
        if point == "during_begin":
            b.expect("SENDING", 10)
            seen = wait_until(lambda: q1(mon, "SELECT count(*) FROM pg_stat_activity"
                                              " WHERE backend_type = 'pg_mint worker'"
                                              "   AND state IS DISTINCT FROM 'idle'") > 0, 5, 0.001)
            at_kill = "template_begin running in its worker" if seen else "template_begin (worker not seen)"
        else:
            line = b.expect("AT " + point, 30)
            if not rep.check("%s: builder reached its point" % tag, line, b.seen):
                b.p.kill()
                continue
            if point == "mid_schema":
                busy = wait_until(lambda: q1(mon, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                                                  " AND state = 'active' AND query LIKE %s",
                                             (TPL, "%pg_sleep%")) == 1, 5)
                rep.check("%s: builder is inside a schema statement on the template" % tag, busy)
            held = q(mon, "SELECT mode, granted FROM pg_locks WHERE locktype = 'advisory' AND database = 0"
                          " AND objsubid = 28020 AND pid = %s", (bpid,))
            rep.check("%s: builder holds the build lock" % tag, held == [("ExclusiveLock", True)], held)
            with connect(conninfo, appname="fault_probe") as pc:
                q(pc, "SET lock_timeout = '150ms'")
                o = call(pc, "SELECT mint.clone(%s, %s)", (TPL, target + "_early"))
            rep.check("%s: clone during the build waits for the builder (lock_timeout 55P03), copies nothing"
                      % tag, o.sqlstate == "55P03" and target + "_early" not in databases(mon), o)

        waiter = {}
        cloner = {}
        threads = []
        if mode == "queued":
            wc = connect(conninfo, appname="fault_waiter")
            cc = connect(conninfo, appname="fault_cloner")
            wpid = q1(wc, "SELECT pg_backend_pid()")
            cpid = q1(cc, "SELECT pg_backend_pid()")

            def wait_begin():
                waiter["o"] = call(wc, "SELECT mint.template_begin(%s, %s)", (TPL, "fp-%d-next" % i))
                waiter["t"] = time.monotonic()

            def wait_clone():
                cloner["o"] = call(cc, "SELECT mint.clone(%s, %s)", (TPL, target))

            threads = [threading.Thread(target=wait_begin), threading.Thread(target=wait_clone)]
            threads[0].start()
            wait_until(lambda: q1(mon, "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", (wpid,)) == 1, 5)
            threads[1].start()
            queued = wait_until(lambda: q1(mon, "SELECT count(*) FROM pg_locks WHERE pid IN (%s, %s)"
                                                " AND NOT granted", (wpid, cpid)) == 2, 5)
            if point != "during_begin":
                rep.check("%s: next template_begin and a clone are queued behind the builder" % tag, queued)
        else:
            wc = connect(conninfo, appname="fault_waiter")

        os.kill(b.p.pid, signal.SIGKILL)
        t_kill = time.monotonic()
        b.p.wait()

        if mode == "fresh":
            cc = connect(conninfo, appname="fault_cloner")
            o = call(cc, "SELECT mint.clone(%s, %s)", (TPL, target))
            rep.check("%s: clone right after the kill fails (template unfinished), makes nothing" % tag,
                      (not o.ok) and o.sqlstate in ("55000", "3D000") and target not in databases(mon), o)
            waiter["o"] = call(wc, "SELECT mint.template_begin(%s, %s)", (TPL, "fp-%d-next" % i))
            waiter["t"] = time.monotonic()
        else:
            threads[0].join(30)
        wo = waiter.get("o")
        lat = (waiter["t"] - t_kill) if "t" in waiter else None
        if lat is not None:
            latencies.append({"round": i, "point": point, "at_kill": at_kill, "mode": mode, "ms": ms(lat)})
        rep.check("%s: next template_begin returns 'build' within %.0f s of the kill (%s ms)"
                  % (tag, LIMIT_S, ms(lat) if lat is not None else "?"),
                  wo is not None and wo.ok and wo.value == "build" and lat is not None and lat < LIMIT_S, wo)

        gone = wait_until(lambda: q1(mon, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                     (app,)) == 0, 3)
        rep.check("%s: the killed builder's backends are gone" % tag, gone)
        st = q(mon, "SELECT kind, state FROM mint.databases WHERE datname = %s", (TPL,))
        rep.check("%s: template is registered as 'building', not ready" % tag,
                  st == [("template", "building")], st)

        if wo is not None and wo.ok and wo.value == "build":
            if outcome == "finish":
                with connect(conninfo, dbname=TPL, autocommit=False) as tc:
                    create_schema(tc, 20)
                    tc.commit()
                fo = call(wc, "SELECT mint.template_finish(%s)", (TPL,))
            else:
                fo = call(wc, "SELECT mint.template_abort(%s)", (TPL,))
            rep.check("%s: template_%s by the new builder works" % (tag, outcome), fo.ok, fo)
        wc.close()

        if mode == "queued":
            threads[1].join(30)
            co = cloner.get("o")
        else:
            co = call(cc, "SELECT mint.clone(%s, %s)", (TPL, target)) if outcome == "finish" else None
        if outcome == "finish":
            complete, why = clone_is_complete(conninfo, target) if co is not None and co.ok else (False, co)
            rep.check("%s: clone after the finished rebuild succeeds with the whole schema" % tag,
                      co is not None and co.ok and complete, why)
            if co is not None and co.ok:
                made_clones.append(target)
        elif co is not None:
            rep.check("%s: clone queued behind the aborted rebuild fails cleanly (3D000), makes nothing" % tag,
                      co.sqlstate == "3D000" and target not in databases(mon), co)
        cc.close()
        if target in databases(mon):
            call(mon, "SELECT mint.drop(%s)", (target,))
        free = quiet(mon, 5)
        rep.check("%s: afterwards no pg_mint lock is held and no pg_mint worker runs" % tag,
                  free, mint_locks(mon))

    # ---- overall ---------------------------------------------------------
    rep.check("at least 10 builders were SIGKILLed", len(latencies) >= 10, len(latencies))
    leftovers = private_dbs(mon)
    rows = q(mon, "SELECT datname, kind, state FROM mint.registry WHERE state <> 'ready' OR kind <> 'template'")
    rep.check("after all rounds: no private _mint_ database, no unfinished or clone registry row",
              not leftovers and not rows, (leftovers, rows))
    if latencies:
        vals = sorted(x["ms"] for x in latencies)
        rep.metric("kills", len(latencies))
        rep.metric("latency_ms_max", vals[-1])
        rep.metric("latency_ms_median", vals[len(vals) // 2])
        rep.metric("latencies", latencies)
        for p in ("after_begin", "mid_schema", "before_finish", "during_begin"):
            pv = [x["ms"] for x in latencies if x["point"] == p]
            if pv:
                rep.metric("latency_ms_max_" + p, max(pv))
    rep.metric("complete_clones_made", len(made_clones))
    mon.close()
    rep.dump()


if __name__ == "__main__":
    guard(main)
