#!/usr/bin/python3
"""bench/shared_server.py -- many CI jobs on one PostgreSQL (issue 16, point 6).

Simulates --jobs concurrent CI jobs x --workers test workers sharing one
template fingerprint, against the server in PGHOST/PGPORT (loopback or a
Unix socket only), as role --role (made here, CREATEDB, with a quota).  Each
job is a process: it begins the template (one job builds it, the others
wait and get 'ready'), clones one database per worker, then each worker runs
--tests tests, each on a fresh database (mint.clone over the worker's one,
served from the warm pool when a spare is ready), renewing its lease now and
then, and the job ends by dropping its databases.  --kill jobs are SIGKILLed
mid-run; their databases stay behind with their leases, until the janitor
(mint.gc(), as pg_cron runs it) collects them once the leases expired.

Each configuration (--admission N,...: pg_mint.max_concurrent_copies; 0 is
off) runs the same workload on the same server, one after the other.  Prints
a markdown table (and --json): time to a database p50/p95/max, calls,
failures in jobs not killed (must be 0), leftovers after the janitor (must
be 0), peak databases and bytes pg_mint held for the role (bounded by its
quota) and wall time.  Exits 1 when a must-be-0 number is not 0.

Every wait has a deadline (--deadline per configuration); nothing sleeps to
synchronise: jobs poll for what they wait for.
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import sys
import threading
import time

import psycopg

SCHEMA_TABLES = 20


def connect(dbname="postgres", user=None):
    kw = {"dbname": dbname, "autocommit": True}
    if user:
        kw["user"] = user
    return psycopg.connect(**kw)


def q(conn, sql, args=None):
    with conn.cursor() as c:
        c.execute(sql, args)
        try:
            return c.fetchall()
        except psycopg.ProgrammingError:
            return None


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


# ---- one CI job (a process) --------------------------------------------------
def job_main(a, job, out_path, kill_after):
    """kill_after: number of tests (of all workers together) after which the
    parent kills this job; the job reports progress for that."""
    run = f"{a.prefix}_{job}"
    fails = []
    times = []
    lock = threading.Lock()
    progress = [0]
    deadline = time.time() + a.deadline

    def record(kind, secs=None, err=None):
        with lock:
            with open(out_path, "a") as f:
                f.write(json.dumps({"job": job, "kind": kind, "secs": secs, "err": err}) + "\n")

    try:
        c = connect(user=a.role)
        q(c, "SELECT set_config('pg_mint.run', %s, false)", (run,))
        q(c, "SELECT set_config('statement_timeout', %s, false)", (f"{int(a.deadline)}s",))
        r = q(c, "SELECT mint.template_begin(%s, %s)", (a.template, a.fingerprint))[0][0]
        if r == "build":
            b = connect(a.template, a.role)
            for i in range(SCHEMA_TABLES):
                q(b, f"CREATE TABLE t{i} (id int PRIMARY KEY, v text)")
                q(b, f"INSERT INTO t{i} SELECT g, md5(g::text) FROM generate_series(1, {a.rows}) g")
            b.close()
            q(c, "SELECT mint.template_finish(%s)", (a.template,))
            q(c, "SELECT mint.set_pool(%s, %s)", (a.template, a.spares))
        record("begin", err=None)
    except Exception as e:  # noqa: BLE001
        record("fail", err=f"begin: {e}")
        return

    def worker(w):
        name = None
        try:
            wc = connect(user=a.role)
            q(wc, "SELECT set_config('pg_mint.run', %s, false)", (run,))
            q(wc, "SELECT set_config('statement_timeout', %s, false)", (f"{int(a.deadline)}s",))
            name = q(wc, "SELECT mint.worker_name(%s, %s, %s)", (a.prefix, f"gw{w}", run))[0][0]
            for t in range(a.tests + 1):
                if time.time() > deadline:
                    record("fail", err=f"worker {w}: deadline")
                    return
                t0 = time.time()
                q(wc, "SELECT mint.clone(%s, %s, ttl => %s::interval)", (a.template, name, f"{a.lease}s"))
                dt = time.time() - t0
                record("db", secs=dt)
                # the test: connect to its fresh database and use it
                tc = connect(name, a.role)
                q(tc, "SELECT count(*) FROM t0")
                q(tc, "INSERT INTO t1 VALUES (-1, 'x')")
                tc.close()
                if t % 10 == 9:
                    q(wc, "SELECT mint.renew(%s)", (name,))
                with lock:
                    progress[0] += 1
                    if kill_after is not None and progress[0] == kill_after:
                        record("killme")
            q(wc, "SELECT mint.drop(%s)", (name,))
            wc.close()
        except Exception as e:  # noqa: BLE001
            record("fail", err=f"worker {w}: {e}")

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(a.workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    record("end")


# ---- one configuration -------------------------------------------------------
def sample_peak(a, stop, peak):
    c = connect()
    while not stop.is_set():
        r = q(c, "SELECT databases, COALESCE(bytes, 0) FROM mint.quotas WHERE role = %s", (a.role,))
        n = q(c, "SELECT count(*), COALESCE(sum(pg_database_size(oid)), 0) FROM pg_database"
                 " WHERE datname LIKE %s OR datname LIKE '\\_mint\\_%%'", (a.prefix + "%",))
        if r:
            peak["held_db"] = max(peak["held_db"], r[0][0] or 0)
            peak["held_bytes"] = max(peak["held_bytes"], int(r[0][1] or 0))
        peak["all_db"] = max(peak["all_db"], n[0][0])
        peak["all_bytes"] = max(peak["all_bytes"], int(n[0][1]))
        stop.wait(0.25)
    c.close()


def run_config(a, admission, workdir):
    su = connect()
    q(su, "LOAD 'pg_mint'")
    q(su, f"ALTER SYSTEM SET pg_mint.max_concurrent_copies = {int(admission)}")
    q(su, "SELECT pg_reload_conf()")
    # a fresh template per configuration: every configuration builds it once
    q(su, "SELECT mint.drop(datname) FROM mint.databases WHERE datname LIKE %s", (a.prefix + "%",))
    a.template = f"{a.prefix}_tpl"
    a.fingerprint = f"fp-{admission}-{time.time()}"
    out_path = os.path.join(workdir, f"events-{admission}.jsonl")
    open(out_path, "w").close()

    rnd = random.Random(a.seed)
    killed = set(rnd.sample(range(a.jobs), a.kill))
    total_tests = a.workers * (a.tests + 1)
    procs = {}
    stop = threading.Event()
    peak = {"held_db": 0, "held_bytes": 0, "all_db": 0, "all_bytes": 0}
    sampler = threading.Thread(target=sample_peak, args=(a, stop, peak))
    sampler.start()
    t0 = time.time()
    for j in range(a.jobs):
        kill_after = rnd.randint(total_tests // 4, total_tests // 2) if j in killed else None
        p = mp.Process(target=job_main, args=(a, j, out_path, kill_after))
        p.start()
        procs[j] = p

    # kill the chosen jobs when they report they are mid-run; wait for the rest
    deadline = t0 + a.deadline + 30
    done_killing = set()
    seen = 0
    while time.time() < deadline:
        with open(out_path) as f:
            lines = f.readlines()
        for line in lines[seen:]:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e["kind"] == "killme" and e["job"] in killed and e["job"] not in done_killing:
                os.kill(procs[e["job"]].pid, signal.SIGKILL)
                done_killing.add(e["job"])
        seen = len(lines)
        alive = [j for j, p in procs.items() if p.is_alive()]
        # a job chosen for killing that ends before its turn is killed at its end
        if all(j in killed for j in alive):
            for j in alive:
                os.kill(procs[j].pid, signal.SIGKILL)
                done_killing.add(j)
            break
        time.sleep(0.05)
    for j, p in procs.items():
        if p.is_alive():
            os.kill(p.pid, signal.SIGKILL)
        p.join()
    wall = time.time() - t0
    stop.set()
    sampler.join()

    events = [json.loads(l) for l in open(out_path) if l.strip()]
    dts = [e["secs"] for e in events if e["kind"] == "db"]
    # a worker that reached the run's deadline stopped starting tests: bounded, not failed
    stopped = [e for e in events if e["kind"] == "fail" and e["job"] not in killed
               and e["err"].endswith(": deadline")]
    fails = [e for e in events if e["kind"] == "fail" and e["job"] not in killed and e not in stopped]
    ended = {e["job"] for e in events if e["kind"] == "end"}
    stopped_jobs = {e["job"] for e in stopped}
    not_ended = [j for j in range(a.jobs) if j not in killed and j not in ended and j not in stopped_jobs]

    # the janitor's next run, once the killed jobs' leases expired (poll, deadline)
    end_by = time.time() + a.lease + 60
    left_sql = ("SELECT count(*) FROM mint.registry r JOIN pg_database d ON d.oid = r.datid"
                " WHERE r.kind = 'clone' AND r.datname LIKE %s")
    while time.time() < end_by:
        if q(su, "SELECT count(*) FROM mint.databases WHERE kind = 'clone' AND datname LIKE %s"
                 " AND lease_expires > now()", (a.prefix + "%",))[0][0] == 0:
            break
        time.sleep(0.2)
    # and once the workers of killed jobs have noticed and finished what they were doing
    while time.time() < end_by:
        if q(su, "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('pg_mint worker', 'pg_mint pool')"
                 " AND state = 'active'")[0][0] == 0:
            break
        time.sleep(0.2)
    before_gc = q(su, left_sql, (a.prefix + "%",))[0][0]
    q(su, "SET statement_timeout = '120s'")
    q(su, "SELECT count(*) FROM mint.gc()")
    leftovers = q(su, left_sql, (a.prefix + "%",))[0][0]
    unfinished = q(su, "SELECT count(*) FROM mint.registry WHERE state <> 'ready'")[0][0]
    quota = q(su, "SELECT max_databases, max_bytes FROM mint.quotas WHERE role = %s", (a.role,))
    su.close()
    return {
        "admission": admission,
        "calls": len(dts),
        "p50": pct(dts, 50), "p95": pct(dts, 95), "max": max(dts) if dts else None,
        "failures": len(fails) + len(not_ended),
        "failure_samples": [f["err"] for f in fails[:5]],
        "stopped_at_deadline": len(stopped),
        "killed": len(killed),
        "left_before_janitor": before_gc,
        "leftovers": leftovers + unfinished,
        "peak_held_db": peak["held_db"], "peak_held_bytes": peak["held_bytes"],
        "peak_all_db": peak["all_db"], "peak_all_bytes": peak["all_bytes"],
        "quota_db": quota[0][0] if quota else None, "quota_bytes": quota[0][1] if quota else None,
        "wall": wall,
    }


def mb(x):
    return f"{x / 1048576:.0f} MB" if x is not None else "-"


def ms(x):
    return f"{x * 1000:.0f} ms" if x is not None else "-"


def table(results, a, settings):
    out = []
    out.append(f"{a.jobs} jobs x {a.workers} workers x {a.tests} tests (+1 first clone each), "
               f"{a.kill} jobs SIGKILLed mid-run; pool of {a.spares}; lease {a.lease} s; "
               f"quota of role {a.role}: {results[0]['quota_db']} databases, {mb(results[0]['quota_bytes'])}.")
    out.append("")
    out.append("| pg_mint.max_concurrent_copies | calls | time to a database p50 | p95 | max | failures (jobs not killed) | workers stopped at the deadline "
               "| left by killed jobs | leftovers after janitor | peak databases held (quota) | peak bytes held (quota) "
               "| peak databases incl. dropping | wall |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        adm = "off (0)" if r["admission"] == 0 else str(r["admission"])
        out.append(f"| {adm} | {r['calls']} | {ms(r['p50'])} | {ms(r['p95'])} | {ms(r['max'])} | {r['failures']} | {r.get('stopped_at_deadline', 0)} "
                   f"| {r['left_before_janitor']} | {r['leftovers']} | {r['peak_held_db']} ({r['quota_db']}) "
                   f"| {mb(r['peak_held_bytes'])} ({mb(r['quota_bytes'])}) | {r['peak_all_db']} | {r['wall']:.0f} s |")
    out.append("")
    out.append(f"Server settings: {settings}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--tests", type=int, default=50)
    ap.add_argument("--kill", type=int, default=5)
    ap.add_argument("--spares", type=int, default=8)
    ap.add_argument("--rows", type=int, default=2000, help="rows in each of the template's 20 tables")
    ap.add_argument("--lease", type=int, default=20, help="lease of every clone, seconds")
    ap.add_argument("--admission", default="4,0", help="values of pg_mint.max_concurrent_copies to run")
    ap.add_argument("--quota-databases", type=int, default=None, help="default: jobs x workers x 2 + spares + 4")
    ap.add_argument("--quota-bytes", type=int, default=None, help="default: 40 MB per allowed database")
    ap.add_argument("--deadline", type=float, default=900, help="seconds per configuration")
    ap.add_argument("--deadline-stops-ok", action="store_true",
                    help="workers that reach --deadline stop and are counted, not failed (the full run)")
    ap.add_argument("--role", default="mint_ci")
    ap.add_argument("--prefix", default="ssb")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--json")
    ap.add_argument("--md")
    ap.add_argument("--settings", default="")
    a = ap.parse_args()
    if a.kill > a.jobs:
        ap.error("--kill exceeds --jobs")
    host = os.environ.get("PGHOST", "")
    if host and not host.startswith("/") and host not in ("127.0.0.1", "localhost", "::1"):
        ap.error("loopback only: PGHOST must be a socket directory or a loopback address")

    qdb = a.quota_databases or a.jobs * a.workers * 2 + a.spares + 4
    qbytes = a.quota_bytes or qdb * 40 * 1048576
    su = connect()
    q(su, "LOAD 'pg_mint'")
    if not q(su, "SELECT 1 FROM pg_roles WHERE rolname = %s", (a.role,)):
        q(su, f'CREATE ROLE "{a.role}" LOGIN CREATEDB')
    q(su, "SELECT mint.set_quota(%s::regrole, %s::int, %s::bigint)", (a.role, qdb, qbytes))
    settings = a.settings or ", ".join(
        f"{n}={v}" for n, v in q(su, "SELECT name, setting FROM pg_settings WHERE name IN"
                                     " ('fsync', 'synchronous_commit', 'max_worker_processes', 'max_connections',"
                                     " 'shared_buffers', 'server_version')"))
    su.close()

    workdir = os.environ.get("TMPDIR", "/tmp")
    workdir = os.path.join(workdir, f"shared_server.{os.getpid()}")
    os.makedirs(workdir, exist_ok=True)
    results = []
    try:
        for adm in [int(x) for x in a.admission.split(",")]:
            print(f"shared_server: pg_mint.max_concurrent_copies = {adm} ...", file=sys.stderr, flush=True)
            r = run_config(a, adm, workdir)
            print(f"shared_server: {json.dumps(r)}", file=sys.stderr, flush=True)
            results.append(r)
    finally:
        su = connect()
        q(su, "ALTER SYSTEM RESET pg_mint.max_concurrent_copies")
        q(su, "SELECT pg_reload_conf()")
        q(su, "SET statement_timeout = '120s'")
        q(su, "SELECT mint.drop(datname) FROM mint.databases WHERE datname LIKE %s ORDER BY kind = 'template'",
          (a.prefix + "%",))
        q(su, "SELECT mint.set_quota(%s::regrole, NULL, NULL)", (a.role,))
        su.close()
        for f in os.listdir(workdir):
            os.unlink(os.path.join(workdir, f))
        os.rmdir(workdir)
    md = table(results, a, settings)
    print(md)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    bad = [r for r in results if r["failures"] or r["leftovers"]
           or (r.get("stopped_at_deadline") and not a.deadline_stops_ok)
           or (r["quota_db"] is not None and r["peak_held_db"] > r["quota_db"])]
    for r in bad:
        print(f"shared_server: FAILED at max_concurrent_copies={r['admission']}: failures {r['failures']}"
              f" {r['failure_samples']}, leftovers {r['leftovers']}", file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
