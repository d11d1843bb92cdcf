#!/usr/bin/env bash
# tests/suites/examples_pytest.sh -- run examples/pytest-xdist exactly as a
# user would (pytest -n 4, -n 8, no xdist) against the server in PGHOST/PGPORT
# and check what pg_mint promised:
#   * every test passes, in every mode;
#   * the template is built exactly once per fingerprint (one 'build' answer
#     from mint.template_begin across all workers and runs), and rebuilt once
#     after a model file changes -- with the new schema;
#   * each worker used its own database, named mint.worker_name(base, worker),
#     fresh at the start of each run;
#   * rows written by one worker are never seen by another (each test logs a
#     row in audit_log under its worker's name; every database holds only its
#     own worker's rows and the totals add up to the number of tests);
#   * the URL rewriting keeps postgresql+asyncpg:// URLs intact but the database;
#   * the CLI variant (run_with_cli.sh) when the pg_mint CLI is installed.
# The example is configured in pytest.ini only; the pg_mint plugin comes from
# python/, installed into a venv in the scratch dir (pip, offline).
# Needs PGHOST, PGPORT, PGUSER (superuser or CREATEDB) and /usr/bin/python3 with
# pytest, pytest-xdist, psycopg 3 and SQLAlchemy.
set -uo pipefail

# shellcheck source=tests/suites/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
suite_setup expy

cleanup() {
  q "SELECT mint.drop(datname) FROM mint.databases WHERE datname LIKE '${BASE}%' ORDER BY kind = 'template'" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

q "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mint" >/dev/null || { echo "FAIL: cannot create extension pg_mint"; exit 1; }

mint_venv || { echo "FAIL: pip install ./python into a venv"; exit 1; }
ok "pip install --no-build-isolation --no-index ./python into a venv"
cp -r "$here/examples/pytest-xdist" "$work/proj"
find "$work/proj" -name __pycache__ -prune -exec rm -rf {} +
cd "$work/proj" || exit 1

export DATABASE_URL="postgresql+psycopg://${PGUSER}@/${BASE}?host=${PGHOST}&port=${PGPORT}"
unset TEST_DATABASE_URL PG_MINT_MAINTENANCE_URL PG_MINT_TEMPLATE PG_MINT_PREPARED SHARD_TOTAL SHARD_INDEX PYTEST_ADDOPTS
ntests=$(cat tests/test_*.py | grep -c '^def test_')

# check EVENTS LABEL NWORKERS NBUILDS: assertions on one run's event log and
# on the databases it left behind.
check_run() {
  "$PY" - "$@" <<'PY'
import json, os, sys
import psycopg

events_file, label, nworkers, nbuilds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cli = label.startswith("cli")  # databases made by the pg_mint CLI, conftest only picks them
base, tpl, ntests = os.environ["BASE"], os.environ["TPL"], int(os.environ["NTESTS"])
ev = [json.loads(l) for l in open(events_file)]
bad = []
def check(cond, msg):
    if not cond:
        bad.append(msg)

begins = [e for e in ev if e["event"] == "begin"]
builds = [e for e in begins if e["result"] == "build"]
finishes = [e for e in ev if e["event"] == "finish"]
sessions = [e for e in ev if e["event"] == "session"]
clones = [e for e in ev if e["event"] == "clone"]
prepared = [e for e in ev if e["event"] == "prepared"]
if cli:
    check(not begins and not clones and len(prepared) == nworkers,
          "with PG_MINT_PREPARED=1 conftest.py must only pick databases: %d begin, %d clone, %d prepared"
          % (len(begins), len(clones), len(prepared)))
    clones = prepared
check(cli or len(begins) == nworkers, "%d template_begin calls, expected %d (one per worker)" % (len(begins), nworkers))
check(len(builds) == nbuilds, "template built %d times, expected %d" % (len(builds), nbuilds))
check(len(finishes) == nbuilds and not [e for e in ev if e["event"] == "abort"],
      "finish/abort events wrong: %r" % [e for e in ev if e["event"] in ("finish", "abort")])
check(cli or len({e["fingerprint"] for e in begins}) == 1, "workers computed different fingerprints")
check(all(e["result"] in ("build", "ready") for e in begins), "unexpected template_begin result")
if builds and finishes:
    # nobody may have got 'ready' before the builder finished
    early = [e for e in begins if e["result"] == "ready" and e["t"] < finishes[0]["built"]]
    check(not early, "'ready' returned before the build finished: %r" % early)
check(len(sessions) == nworkers, "%d test sessions, expected %d" % (len(sessions), nworkers))
check(all(e["leftover_rows"] == 0 for e in sessions), "a worker database was not fresh")
dbs = {e["worker"]: e["database"] for e in sessions}
check(len(set(dbs.values())) == nworkers, "workers shared databases: %r" % dbs)
check({e["worker"] or "main": e["database"] for e in clones} == dbs,
      "clone targets differ from the databases the tests used")

with psycopg.connect(dbname="postgres", autocommit=True) as c:
    fp = begins[0]["fingerprint"] if begins else os.environ.get("EXPECT_FP")
    row = c.execute("SELECT state, fingerprint FROM mint.databases WHERE datname = %s AND kind = 'template'",
                    (tpl,)).fetchone()
    check(row is not None and row[0] == "ready" and fp and fp in row[1],
          "template row in mint.databases: %r, expected ready with fingerprint %s" % (row, fp))
    total = 0
    for worker, db in dbs.items():
        expected = c.execute("SELECT mint.worker_name(%s, %s)",
                             (base, "" if worker == "main" else worker)).fetchone()[0]
        check(db == expected, "worker %s used %s, expected %s" % (worker, db, expected))
        kind = c.execute("SELECT kind, template FROM mint.databases WHERE datname = %s", (db,)).fetchone()
        check(kind == ("clone", tpl), "%s is not a clone of %s in mint.databases: %r" % (db, tpl, kind))
        with psycopg.connect(dbname=db) as w:
            seen = dict(w.execute("SELECT worker, count(*) FROM audit_log WHERE action = 'test' GROUP BY 1").fetchall())
        check(set(seen) == {worker}, "database %s holds rows of workers %r, expected only %s" % (db, sorted(seen), worker))
        total += sum(seen.values())
    check(total == ntests, "%d test rows across worker databases, expected %d" % (total, ntests))

for b in bad:
    print("FAIL: [%s] %s" % (label, b))
if not bad:
    print("ok: [%s] %d workers, %d databases, %d build(s), %d tests logged once each in their own database"
          % (label, nworkers, len(set(dbs.values())), len(builds), ntests))
sys.exit(1 if bad else 0)
PY
}
export BASE TPL NTESTS=$ntests

# run LABEL NWORKERS NBUILDS [pytest args]
run() {
  local label=$1 nworkers=$2 nbuilds=$3; shift 3
  local ev="$work/events.$label.jsonl" out="$work/pytest.$label.log"
  rm -f "$ev"
  local t0=$SECONDS
  if PG_MINT_EVENTS="$ev" timeout 300 "$VPY" -m pytest -q "$@" >"$out" 2>&1 \
     && grep -Eq "^$ntests passed" "$out"; then
    ok "[$label] pytest $* : $ntests passed in $((SECONDS - t0)) s"
  else
    fail "[$label] pytest $* did not pass all $ntests tests:"; tail -30 "$out"
    return
  fi
  check_run "$ev" "$label" "$nworkers" "$nbuilds" || fails=$((fails + 1))
}

run n4 4 1 -n 4           # first run: one worker builds the template, all clone
run n8 8 0 -n 8 --mint-info  # same models: nobody builds again
grep -Eq "^gw7: ${BASE}_gw7 cloned from $TPL in [0-9.]+ s; template fingerprint [0-9a-f]{12}\.\.\., ready" "$work/pytest.n8.log" \
  && ok "[n8] --mint-info: one line per worker (template, fingerprint, ready, clone time)" \
  || { fail "[n8] --mint-info lines missing:"; grep -A12 "= pg_mint =" "$work/pytest.n8.log"; }
run serial 1 0 -p no:xdist  # without xdist: the base name itself
fp1=$(q "SELECT fingerprint FROM mint.databases WHERE datname = '$TPL'")

# change the models: a new table, so a stale template would fail test_schema_matches_models
cat >>app/models/support.py <<'EOF'


class ReleaseNote(Base):
    __tablename__ = "release_notes"
    id = Column(Integer, primary_key=True)
    version = Column(String(20), nullable=False, unique=True)
EOF
run changed 4 1 -n 4
fp2=$(q "SELECT fingerprint FROM mint.databases WHERE datname = '$TPL'")
[ -n "$fp1" ] && [ -n "$fp2" ] && [ "$fp1" != "$fp2" ] \
  && ok "fingerprint changed with the models ($fp1 -> $fp2)" \
  || fail "template fingerprint did not change: '$fp1' -> '$fp2'"
# a stray session on a worker's database (a debugger, a psql left open) does
# not fail the next run: mint.clone ends it when it replaces the database
stray_db=$(q "SELECT mint.worker_name('$BASE', 'gw1')")
timeout 120 psql -X -qAt -d "$stray_db" -c "SELECT pg_sleep(100)" >/dev/null 2>&1 & stray=$!
for _ in $(seq 100); do
  [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$stray_db' AND query LIKE '%pg_sleep(100)%'")" = 1 ] && break
  sleep 0.1
done
[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$stray_db'")" -ge 1 ] \
  && ok "stray session open on $stray_db" || fail "could not open a stray session on $stray_db"
run changed_again 4 0 -n 4
if wait "$stray"; then fail "the stray session on $stray_db was not ended (psql exited 0 after its sleep)"
else ok "the stray session on $stray_db was ended by mint.clone, the run passed"; fi

# URL rewriting with another driver: only the database part changes, and the
# maintenance connection derived from it reaches the extension.
"$VPY" - <<'PY' || fails=$((fails + 1))
import os, psycopg
from pg_mint.urls import with_database, to_libpq
from pg_mint.prepare import maintenance_for
port = os.environ["PGPORT"]
url = "postgresql+asyncpg://%s:s3cr%%40t@127.0.0.1:%s/%s?ssl=disable" % (os.environ["PGUSER"], port, os.environ["BASE"])
got = with_database(url, "x_gw3")
want = "postgresql+asyncpg://%s:s3cr%%40t@127.0.0.1:%s/x_gw3?ssl=disable" % (os.environ["PGUSER"], port)
bad = []
if got != want:
    bad.append("asyncpg URL rewritten to %r, expected %r" % (got, want))
for u in (url, os.environ["DATABASE_URL"]):
    with psycopg.connect(maintenance_for(u, "postgres")[0]) as c:
        db, wn = c.execute("SELECT current_database(), mint.worker_name('a', 'gw1')").fetchone()
    if (db, wn) != ("postgres", "a_gw1"):
        bad.append("maintenance connection from %s reached %r" % (u, (db, wn)))
explicit = "postgresql://127.0.0.1:%s/postgres" % port
if to_libpq(explicit)[0] != maintenance_for(url, explicit)[0]:
    bad.append("an explicit maintenance URL is not honoured")
for b in bad:
    print("FAIL:", b)
if not bad:
    print("ok: asyncpg-style URL keeps driver, credentials and options; maintenance URL derived and overridable")
raise SystemExit(1 if bad else 0)
PY

# the CLI variant: template and clones made by pg_mint in shell steps
if command -v pg_mint >/dev/null 2>&1 && pg_mint --version >/dev/null 2>&1; then
  fp_cli=$(pg_mint fingerprint app/models)
  fp_py=$(q "SELECT fingerprint FROM mint.databases WHERE datname = '$TPL'")
  [ -n "$fp_cli" ] && [ "$fp_cli" = "$fp_py" ] \
    && ok "[cli] the plugin's fingerprint (mint_fingerprint = app/models) = pg_mint fingerprint app/models" \
    || fail "[cli] fingerprints differ: pg_mint '$fp_cli', plugin '$fp_py'"
  cli_base=${BASE}_cli
  for round in 1 2; do
    ev="$work/events.cli$round.jsonl"; rm -f "$ev"
    if PYTHON=$VPY PG_MINT_EVENTS="$ev" APP_BASE=${BASE}_cli timeout 300 bash run_with_cli.sh -n 4 -q >"$work/cli$round.log" 2>&1 \
       && grep -Eq "^$ntests passed" "$work/cli$round.log"; then
      ok "[cli$round] run_with_cli.sh -n 4: $ntests passed"
      BASE=$cli_base TPL=${cli_base}_tpl EXPECT_FP=$fp_cli check_run "$ev" "cli$round" 4 0 || fails=$((fails + 1))
    else
      fail "[cli$round] run_with_cli.sh -n 4 failed:"; tail -30 "$work/cli$round.log"
    fi
    [ "$round" = 1 ] && created1=$(q "SELECT created_at FROM mint.databases WHERE datname = '${BASE}_cli_tpl'")
  done
  created2=$(q "SELECT created_at FROM mint.databases WHERE datname = '${BASE}_cli_tpl'")
  [ -n "$created1" ] && [ "$created1" = "$created2" ] \
    && ok "[cli] second run reused the template" || fail "[cli] template rebuilt: '$created1' -> '$created2'"
else
  echo "skip: pg_mint CLI not installed (pg_mint --version fails): CLI variant not tested"
fi

cd / || true
if [ "$fails" -gt 0 ]; then
  echo "examples_pytest: $fails failure(s)"
  exit 1
fi
echo "examples_pytest: all passed"
