"""fault_soak.py CONNINFO -- case 8: 200 clone/drop cycles from 8 clients.

Each client loops on its own target: clone (every 4th cycle replaced once
more before the drop, and checked to be complete), then drop.  Afterwards:
no database, private copy, background worker, backend or lock leaked, and
mint.registry holds exactly the rows it held before.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mintlib import (guard, Report, call, connect, q, q1, databases, private_dbs,  # noqa: E402
                     quiet, build_template, clone_is_complete, ms)

TPL = "fault_soak_tpl"
CLIENTS = 8
CYCLES = 25
DEADLINE_S = 120


def main():
    conninfo = sys.argv[1]
    rep = Report()
    mon = connect(conninfo, appname="fault_monitor")
    build_template(conninfo, TPL, "fp")
    dbs_before = databases(mon)
    reg_before = q(mon, "SELECT datid, datname, kind, state FROM mint.registry ORDER BY 1")
    backends_before = q1(mon, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")

    errors = []
    counts = {"clone": 0, "replace": 0, "drop": 0, "checked": 0}
    lat = {"clone": [], "drop": []}
    mu = threading.Lock()
    peak = {"workers": 0, "registry": 0}
    stop = threading.Event()
    t_end = time.monotonic() + DEADLINE_S

    def client(k):
        c = connect(conninfo, appname="fault_soak_%d" % k)
        target = "fault_soak_c%d" % k
        for i in range(CYCLES):
            if time.monotonic() > t_end:
                errors.append((k, i, "deadline"))
                break
            o = call(c, "SELECT mint.clone(%s, %s)", (TPL, target))
            with mu:
                counts["clone"] += o.ok
                lat["clone"].append(o.elapsed)
            if not o.ok:
                errors.append((k, i, "clone", o))
                continue
            if i % 4 == 0:
                o = call(c, "SELECT mint.clone(%s, %s)", (TPL, target))
                ok, why = clone_is_complete(conninfo, target) if o.ok else (False, o)
                with mu:
                    counts["replace"] += o.ok
                    counts["checked"] += ok
                if not ok:
                    errors.append((k, i, "replace", why))
            o = call(c, "SELECT mint.drop(%s)", (target,))
            with mu:
                counts["drop"] += (o.ok and o.value is True)
                lat["drop"].append(o.elapsed)
            if not (o.ok and o.value is True):
                errors.append((k, i, "drop", o))
        c.close()

    def sampler():
        s = connect(conninfo, appname="fault_sampler")
        while not stop.is_set():
            w = q1(s, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'")
            r = q1(s, "SELECT count(*) FROM mint.registry")
            peak["workers"] = max(peak["workers"], w)
            peak["registry"] = max(peak["registry"], r)
            time.sleep(0.02)
        s.close()

    smp = threading.Thread(target=sampler)
    smp.start()
    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S + 30)
    total = time.monotonic() - t0
    stop.set()
    smp.join()

    cycles = counts["drop"]
    rep.check("200 clone/drop cycles from 8 concurrent clients complete without error (%d cycles, %d replaces, %.1f s)"
              % (cycles, counts["replace"], total), cycles == CLIENTS * CYCLES and not errors, errors[:5])
    rep.check("every replaced clone checked was complete (%d)" % counts["checked"],
              counts["checked"] == counts["replace"] and counts["replace"] > 0, counts)
    settled = quiet(mon, 15)
    rep.check("afterwards no pg_mint background worker and no pg_mint lock remain", settled,
              q(mon, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_mint worker'"))
    dbs_after = databases(mon)
    rep.check("no leaked database (the set of databases is what it was)", dbs_after == dbs_before,
              sorted(set(dbs_after) ^ set(dbs_before)))
    rep.check("no private _mint_ database", not private_dbs(mon), private_dbs(mon))
    reg_after = q(mon, "SELECT datid, datname, kind, state FROM mint.registry ORDER BY 1")
    rep.check("mint.registry holds exactly the rows it held before (%d)" % len(reg_before), reg_after == reg_before,
              (reg_before, reg_after))
    backends_after = q1(mon, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
    rep.check("no leaked client backend (%d before, %d after)" % (backends_before, backends_after),
              backends_after == backends_before, (backends_before, backends_after))
    gc = q(mon, "SELECT * FROM mint.gc('0')")
    rep.check("gc('0') finds nothing to remove", gc == [], gc)

    def pct(v, p):
        v = sorted(v)
        return ms(v[min(len(v) - 1, int(len(v) * p))]) if v else None

    rep.metric("cycles", cycles)
    rep.metric("total_s", round(total, 1))
    rep.metric("clone_ms_median", pct(lat["clone"], 0.5))
    rep.metric("clone_ms_p95", pct(lat["clone"], 0.95))
    rep.metric("drop_ms_median", pct(lat["drop"], 0.5))
    rep.metric("drop_ms_p95", pct(lat["drop"], 0.95))
    rep.metric("peak_pg_mint_workers", peak["workers"])
    rep.metric("peak_registry_rows", peak["registry"])
    rep.metric("registry_rows_before_after", [len(reg_before), len(reg_after)])
    mon.close()
    rep.dump()


if __name__ == "__main__":
    guard(main)
