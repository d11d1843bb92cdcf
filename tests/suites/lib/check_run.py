"""check_run.py EVENTS LABEL NWORKERS NBUILDS TABLE NTESTS: assertions on one
pytest run of an example that uses the pg_mint plugin (its PG_MINT_EVENTS
log, and the databases it left behind), for tests/suites/examples_*.sh.

* one template_begin per worker, NBUILDS of them answered 'build', each
  build finished (no abort), no 'ready' before the build finished, one
  fingerprint across workers;
* every worker's tests ran in its own database, mint.worker_name(base,
  worker), a clone of the template made in this run, fresh (no leftover rows);
* TABLE (worker, ...) in each database holds rows of its own worker only, and
  NTESTS rows in all.
Needs BASE and TPL in the environment; connects with PG* variables.
"""
import json
import os
import sys

import psycopg

events_file, label, nworkers, nbuilds, table, ntests = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
base, tpl = os.environ["BASE"], os.environ["TPL"]
ev = [json.loads(line) for line in open(events_file)]
bad = []


def check(cond, msg):
    if not cond:
        bad.append(msg)


begins = [e for e in ev if e["event"] == "begin"]
builds = [e for e in begins if e["result"] == "build"]
finishes = [e for e in ev if e["event"] == "finish"]
sessions = [e for e in ev if e["event"] == "session"]
clones = [e for e in ev if e["event"] == "clone"]
check(len(begins) == nworkers, "%d template_begin calls, expected %d (one per worker)" % (len(begins), nworkers))
check(len(builds) == nbuilds, "template built %d times, expected %d" % (len(builds), nbuilds))
check(len(finishes) == nbuilds and not [e for e in ev if e["event"] == "abort"],
      "finish/abort events wrong: %r" % [e for e in ev if e["event"] in ("finish", "abort")])
check(len({e["fingerprint"] for e in begins}) == 1, "workers computed different fingerprints")
if finishes:
    early = [e for e in begins if e["result"] == "ready" and e["t"] < finishes[0]["built"]]
    check(not early, "'ready' returned before the build finished: %r" % early)
# with fewer tests than workers, xdist may give a worker none: it clones, but
# runs no test session
check(1 <= len(sessions) <= nworkers and len({e["worker"] for e in sessions}) == len(sessions),
      "%d test sessions, expected one per worker that ran tests (%d workers)" % (len(sessions), nworkers))
check(all(e["leftover_rows"] == 0 for e in sessions), "a worker database was not fresh")
dbs = {e["worker"]: e["database"] for e in sessions}
check(len(set(dbs.values())) == len(dbs), "workers shared databases: %r" % dbs)
cloned = {e["worker"] or "main": e["database"] for e in clones}
check(len(clones) == nworkers and len(set(cloned.values())) == nworkers,
      "%d clones (%d distinct), expected %d" % (len(clones), len(set(cloned.values())), nworkers))
check(all(cloned.get(w) == d for w, d in dbs.items()),
      "clone targets %r differ from the databases the tests used %r" % (cloned, dbs))
with psycopg.connect(dbname="postgres", autocommit=True) as c:
    row = c.execute("SELECT state, fingerprint FROM mint.databases WHERE datname = %s AND kind = 'template'",
                    (tpl,)).fetchone()
    fp = begins[0]["fingerprint"] if begins else None
    check(row is not None and row[0] == "ready" and fp and fp in row[1],
          "template row in mint.databases: %r, expected ready with fingerprint %s" % (row, fp))
    total = 0
    for worker, db in dbs.items():
        expected = c.execute("SELECT mint.worker_name(%s, %s)", (base, "" if worker == "main" else worker)).fetchone()[0]
        check(db == expected, "worker %s used %s, expected %s" % (worker, db, expected))
        kind = c.execute("SELECT kind, template FROM mint.databases WHERE datname = %s", (db,)).fetchone()
        check(kind == ("clone", tpl), "%s is not a clone of %s in mint.databases: %r" % (db, tpl, kind))
        with psycopg.connect(dbname=db) as w:
            seen = dict(w.execute("SELECT worker, count(*) FROM %s GROUP BY 1" % table).fetchall())
        check(set(seen) == {worker}, "database %s holds rows of workers %r, expected only %s" % (db, sorted(seen), worker))
        total += sum(seen.values())
    check(total == ntests, "%d test rows across worker databases, expected %d" % (total, ntests))
for b in bad:
    print("FAIL: [%s] %s" % (label, b))
if not bad:
    print("ok: [%s] %d workers, %d databases, %d build(s), %d tests logged once each in their own database"
          % (label, nworkers, len(set(dbs.values())), len(builds), ntests))
sys.exit(1 if bad else 0)
