#!/usr/bin/python3
"""bench/phase_trace.py -- where the time of `mint.clone` goes (issue 12,
target 1), phase by phase, beside the floor it is compared with.

Run by bench/phase_trace (a throwaway cluster per configuration).  For each
template size: rounds of, interleaved, (a) the floor, `CREATE DATABASE x
TEMPLATE t` on an open connection, and (b) `mint.clone(t, 'w0')` replacing
the same worker database on an open connection, with
`client_min_messages = debug1` so that pg_mint's executor reports each
phase's time (exec.c mint_trace: "pg_mint: <phase> took <ms> ms").  Prints a
markdown table of p50 per phase; what is not in a phase (the hand-over
between the caller and the executor, the caller's own checks) is the rest.
"""
import argparse
import collections
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import connect, one  # noqa: E402
from gen_schema import generate, scale_for  # noqa: E402

PHASE = re.compile(r"pg_mint: (.*) took ([0-9.]+) ms")
LOG = os.environ.get("MINT_TRACE_LOG", "")


def build(c, name, mb):
    scale = scale_for(mb)
    sql = generate(scale if scale is not None else 0, bare=scale is None)
    if one(c, "SELECT mint.template_begin(%s, %s)", (name, "trace")) == "build":
        with connect(name, timeout="0") as f:
            f.execute(sql)
        c.execute("SELECT mint.template_finish(%s)", (name,))
    return one(c, "SELECT pg_database_size(%s)", (name,)) / 1048576


def settle(c, deadline=120):
    end = time.monotonic() + deadline
    while one(c, "SELECT count(*) FROM mint.registry WHERE state <> 'ready'"):
        if time.monotonic() > end:
            raise SystemExit("pg_mint's background drop did not finish within 120 s")
        time.sleep(0.005)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="14,85")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--config", default="?")
    a = ap.parse_args()
    maint = connect(timeout="0")
    maint.execute("CREATE EXTENSION IF NOT EXISTS pg_mint")
    out = []
    for mb in [int(x) for x in a.sizes.split(",")]:
        tpl = f"tr{mb}_tpl"
        size = build(maint, tpl, mb)
        floor, clone, drops = [], [], []
        phases = collections.defaultdict(list)
        # the executor starts with the role's settings: it logs its DEBUG1
        # phase timing to the server log (the caller relays only NOTICE and up)
        maint.execute("ALTER ROLE CURRENT_USER SET log_min_messages = debug1")
        w = connect(timeout="0")
        w.execute("SET pg_mint.executor_idle_timeout = '10min'; SET client_min_messages = notice")
        wpid = one(w, "SELECT pg_backend_pid()")   # its own lines are in the notices
        notices = []
        w.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        one(w, "SELECT mint.clone(%s, 'w0')", (tpl,))   # unrecorded: starts the executor
        settle(maint)
        for r in range(a.rounds + 1):
            order = ["floor", "clone"] if r % 2 else ["clone", "floor"]
            for what in order:
                if what == "floor":
                    t0 = time.perf_counter()
                    maint.execute(f'CREATE DATABASE "tr_floor" TEMPLATE "{tpl}"')
                    ms = (time.perf_counter() - t0) * 1000
                    t0 = time.perf_counter()
                    maint.execute('DROP DATABASE "tr_floor"')
                    if r:
                        floor.append(ms)
                        drops.append((time.perf_counter() - t0) * 1000)
                else:
                    w.execute("SET client_min_messages = debug1")
                    notices.clear()
                    logpos = os.path.getsize(LOG)
                    t0 = time.perf_counter()
                    one(w, "SELECT mint.clone(%s, 'w0')", (tpl,))
                    ms = (time.perf_counter() - t0) * 1000
                    w.execute("SET client_min_messages = notice")
                    settle(maint)
                    if r:
                        clone.append(ms)
                        seen = collections.defaultdict(float)
                        with open(LOG, errors="replace") as fh:
                            fh.seek(logpos)
                            executor = [line for line in fh if "pg_mint: " in line and f"[{wpid}]" not in line]
                        for n in notices + executor:
                            m = PHASE.search(n)
                            if m and "after answering" not in m.group(1):
                                who = "caller" if n in notices else "executor"
                                seen[f"{who}: {m.group(1)}"] += float(m.group(2))
                        for k, v in seen.items():
                            phases[k].append(v)
        w.close()
        maint.execute("ALTER ROLE CURRENT_USER RESET log_min_messages")
        maint.execute("SELECT mint.drop('w0')")
        f50, c50 = statistics.median(floor), statistics.median(clone)
        out.append(f"\n### {a.config}: template {size:.1f} MB, {a.rounds} interleaved rounds\n")
        out.append("| phase | p50 ms |")
        out.append("| --- | ---: |")
        out.append(f"| floor: `CREATE DATABASE x TEMPLATE t` (client time) | {f50:.1f} |")
        out.append(f"| `mint.clone` replacing w0 (client time) | {c50:.1f} ({c50 / f50:.2f}× the floor) |")
        out.append(f"| (untimed above) the floor's `DROP DATABASE x` after it: the forced checkpoint | {statistics.median(drops):.1f} |")
        named = 0.0
        for k, v in phases.items():
            p = statistics.median(v)
            named += p
            out.append(f"| {k} | {p:.1f} |")
        out.append(f"| not in a phase (the call's start, hand-over to the executor, the answer) | {c50 - named:.1f} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
