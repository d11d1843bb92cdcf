#!/usr/bin/env bash
# tests/suites/examples_ci.sh -- the CI recipe of examples/ci:
#   * github-actions.yml is valid YAML with a `postgres` service, a shard
#     matrix, a `pg_mint template` step and a pytest -n step; the Dockerfile
#     starts from an official postgres:NN image, builds pg_mint and creates the
#     extension with an init script that exists;
#   * ci.sh (the same steps as a script) runs against the server in
#     PGHOST/PGPORT: 2 shards x 2 xdist workers all pass, the shards split the
#     tests without overlap, every worker of every shard has its own database
#     holding only its own rows, the template is built once and reused by a
#     second run of one shard (the matrix-job mode, SHARD_INDEX set).
set -uo pipefail

# shellcheck source=tests/suites/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
suite_setup exci
cleanup() {
  q "SELECT mint.drop(datname) FROM mint.databases WHERE datname LIKE '${BASE}%' ORDER BY kind = 'template'" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# ---- static checks of the files users copy ----------------------------------
"$PY" - "$here/examples/ci" <<'PY' || fails=$((fails + 1))
import os, re, sys
import yaml
d = sys.argv[1]
bad = []
wf = yaml.safe_load(open(os.path.join(d, "github-actions.yml")))
jobs = wf.get("jobs", {})
test = next((j for j in jobs.values() if "postgres" in (j.get("services") or {})), None)
if not test:
    bad.append("no job with a `postgres` service")
else:
    if not test.get("strategy", {}).get("matrix", {}).get("shard"):
        bad.append("no shard matrix")
    runs = "\n".join(s.get("run", "") for s in test.get("steps", []))
    if not re.search(r"pg_mint template \S+ --fingerprint-files .* -- ", runs):
        bad.append("no `pg_mint template ... --` step")
    if not re.search(r"pytest -n", runs) or "pg_mint clone" not in runs:
        bad.append("no pg_mint clone + pytest -n step")
    builder = [j for j in jobs.values() for s in j.get("steps", [])
               if (s.get("with") or {}).get("file") == "examples/ci/Dockerfile"]
    if not builder:
        bad.append("no job builds examples/ci/Dockerfile")
df = open(os.path.join(d, "Dockerfile")).read()
if not re.search(r"^FROM postgres:\$\{PG_MAJOR\}|^FROM postgres:\d+", df, re.M) or \
        not re.search(r"^ARG PG_MAJOR=\d+", df, re.M):
    bad.append("Dockerfile does not start from an official postgres:NN image")
if "make" not in df or "install" not in df:
    bad.append("Dockerfile does not build and install pg_mint")
for src in re.findall(r"^COPY (\S+) /docker-entrypoint-initdb\.d/", df, re.M):
    path = os.path.join(d, "..", "..", src)
    if not os.path.isfile(path) or "CREATE EXTENSION IF NOT EXISTS pg_mint" not in open(path).read():
        bad.append("init script %s missing or does not create the extension" % src)
if "/docker-entrypoint-initdb.d/" not in df:
    bad.append("Dockerfile has no init script")
for b in bad:
    print("FAIL:", b)
if not bad:
    print("ok: github-actions.yml and Dockerfile have the service, image build, template and shard steps")
sys.exit(1 if bad else 0)
PY

# ---- ci.sh against the throwaway cluster ------------------------------------
if ! command -v pg_mint >/dev/null 2>&1 || ! pg_mint --version >/dev/null 2>&1; then
  fail "the pg_mint CLI is not installed (pg_mint --version fails); ci.sh needs it"
  exit 1
fi
q "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mint" >/dev/null \
  || { echo "FAIL: cannot create extension pg_mint"; exit 1; }

mint_venv || { echo "FAIL: pip install ./python into a venv"; exit 1; }
mkdir -p "$work/repo"
cp -r "$here/examples" "$work/repo/"
find "$work/repo" -name __pycache__ -prune -exec rm -rf {} +
proj="$work/repo/examples/pytest-xdist"
ntests=$(cat "$proj"/tests/test_*.py | grep -c '^def test_')

unset TEST_DATABASE_URL PG_MINT_MAINTENANCE_URL PG_MINT_TEMPLATE PG_MINT_PREPARED SHARD_INDEX PYTEST_ADDOPTS
export DATABASE_URL="postgresql+psycopg://${PGUSER}@/${BASE}?host=${PGHOST}&port=${PGPORT}"
export PYTHON=$VPY APP_TEMPLATE=$TPL SHARD_TOTAL=2 WORKERS=2

t0=$SECONDS
if PG_MINT_EVENTS="$work/ev1" timeout 300 bash "$work/repo/examples/ci/ci.sh" >"$work/run1.log" 2>&1; then
  ok "ci.sh, 2 shards x 2 workers: exit 0 in $((SECONDS - t0)) s"
else
  fail "ci.sh failed:"; tail -40 "$work/run1.log"
fi
created1=$(q "SELECT created_at FROM mint.databases WHERE datname = '$TPL' AND kind = 'template' AND state = 'ready'")
[ -n "$created1" ] && ok "template $TPL ready" || fail "no ready template $TPL in mint.databases"

s0=$(sed -nE 's/^\[shard 0\] ([0-9]+) passed.*/\1/p' "$work/run1.log")
s1=$(sed -nE 's/^\[shard 1\] ([0-9]+) passed.*/\1/p' "$work/run1.log")
if [ -n "$s0" ] && [ -n "$s1" ] && [ "$s0" -gt 0 ] && [ "$s1" -gt 0 ] && [ $((s0 + s1)) = "$ntests" ] \
   ; then
  ok "shards passed $s0 + $s1 = $ntests tests"
else
  fail "shard results '$s0' + '$s1' != $ntests, or failures:"; grep -E "passed|failed|error" "$work/run1.log" | head
fi

# databases: one per (shard, worker), each holding only its worker's rows, the
# shards' test rows adding up to the suite
BASE=$BASE NTESTS=$ntests "$PY" - "$work/ev1" <<'PY' || fails=$((fails + 1))
import json, os, sys
import psycopg
base, ntests = os.environ["BASE"], int(os.environ["NTESTS"])
ev = [json.loads(l) for l in open(sys.argv[1])]
sessions = [e for e in ev if e["event"] == "session"]
bad = []
expected = {"%s_s%d_gw%d" % (base, s, w) for s in range(2) for w in range(2)}
dbs = [e["database"] for e in sessions]
if sorted(dbs) != sorted(expected):
    bad.append("test sessions used %r, expected one each of %r" % (sorted(dbs), sorted(expected)))
if [e for e in ev if e["event"] in ("begin", "clone")]:
    bad.append("the pg_mint plugin built or cloned although the CLI had prepared the databases")
total = 0
with psycopg.connect(dbname="postgres") as c:
    for e in sessions:
        row = c.execute("SELECT kind, template FROM mint.databases WHERE datname = %s", (e["database"],)).fetchone()
        if row != ("clone", base + "_tpl"):
            bad.append("%s is not a clone of %s_tpl: %r" % (e["database"], base, row))
        with psycopg.connect(dbname=e["database"]) as w:
            seen = dict(w.execute("SELECT worker, count(*) FROM audit_log WHERE action = 'test' GROUP BY 1").fetchall())
        if set(seen) != {e["worker"]}:
            bad.append("%s holds rows of %r, expected only %s" % (e["database"], sorted(seen), e["worker"]))
        total += sum(seen.values())
if total != ntests:
    bad.append("%d test rows across the shards' databases, expected %d" % (total, ntests))
for b in bad:
    print("FAIL:", b)
if not bad:
    print("ok: 4 databases (2 shards x 2 workers), each with only its own worker's rows, %d tests once each" % ntests)
sys.exit(1 if bad else 0)
PY

# a matrix job: one shard, template already there
if SHARD_INDEX=1 timeout 300 bash "$work/repo/examples/ci/ci.sh" >"$work/run2.log" 2>&1 \
   && grep -Eq "^$s1 passed" "$work/run2.log"; then
  ok "ci.sh with SHARD_INDEX=1: the same $s1 tests passed"
else
  fail "ci.sh with SHARD_INDEX=1:"; tail -30 "$work/run2.log"
fi
created2=$(q "SELECT created_at FROM mint.databases WHERE datname = '$TPL'")
[ -n "$created1" ] && [ "$created1" = "$created2" ] && ok "second run reused the template" \
  || fail "template rebuilt or gone: '$created1' -> '$created2'"
n=$(q "SELECT count(*) FROM mint.databases WHERE datname LIKE '${BASE}%' AND kind = 'template'")
[ "$n" = 1 ] && ok "exactly one template" || fail "$n templates for $BASE"

cd / || true
if [ "$fails" -gt 0 ]; then
  echo "examples_ci: $fails failure(s)"
  exit 1
fi
echo "examples_ci: all passed"
