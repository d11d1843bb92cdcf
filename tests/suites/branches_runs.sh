#!/usr/bin/env bash
# tests/suites/branches_runs.sh -- issue 17: two branches and concurrent runs
# on one server, with the pytest-xdist example run exactly as a user would.
#
# A. Two branches with different migrations (branch A adds table
#    branch_a_only, branch B branch_b_only) use the same template name and the
#    same DATABASE_URL; each runs `pytest -n 4` at the same time as the other,
#    three rounds, alternating which starts first (the second starts once the
#    first has asked template_begin).  Checked: every run passes all tests
#    (a test in each branch asserts its own table is there and the other's is
#    not; test_schema_matches_models fails on a wrong schema); every worker
#    database of a round holds its own branch's table and not the other's;
#    exactly one build per fingerprint over the three rounds.
# B. Two concurrent runs of one branch with distinct run identities
#    (PG_MINT_RUN), each ending with `pg_mint gc --older-than 0`: run R2 waits
#    (a test that blocks on a file, with a deadline) while R1 runs and
#    collects; R2's databases are the same (names and OIDs) before and after
#    R1's run and gc, R1's gc dropped R1's clones, R2 passes.
# Needs PGHOST, PGPORT, PGUSER, /usr/bin/python3 with pytest, pytest-xdist,
# psycopg 3 and SQLAlchemy, and the pg_mint CLI on PATH.  The example uses the
# pg_mint pytest plugin, pip-installed from python/ into a venv (mint_venv).
set -uo pipefail

# shellcheck source=tests/suites/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
suite_setup brx
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  q "SELECT mint.drop(datname) FROM mint.databases WHERE datname LIKE '${BASE}%' ORDER BY kind = 'template'" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

q "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mint" >/dev/null || { echo "FAIL: cannot create extension pg_mint"; exit 1; }
unset TEST_DATABASE_URL PG_MINT_MAINTENANCE_URL PG_MINT_TEMPLATE PG_MINT_PREPARED SHARD_TOTAL SHARD_INDEX PYTEST_ADDOPTS PG_MINT_RUN
export DATABASE_URL="postgresql+psycopg://${PGUSER}@/${BASE}?host=${PGHOST}&port=${PGPORT}"

# wait_for FILE PATTERN SECONDS: until FILE has a line matching PATTERN (deadline)
wait_for() {
  local deadline=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$deadline" ]; do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

mint_venv || { echo "FAIL: pip install ./python into a venv"; exit 1; }

# ---- the two branches: the example plus one table and one test each --------
for b in a b; do
  cp -r "$here/examples/pytest-xdist" "$work/$b"
  find "$work/$b" -name __pycache__ -prune -exec rm -rf {} +
  # the per-test fresh databases are clones of the run too: B counts exactly
  # the 4 worker databases of a run
  rm -f "$work/$b/tests/test_fresh.py"
  cat >>"$work/$b/app/models/support.py" <<EOF


class Branch${b^}Only(Base):
    __tablename__ = "branch_${b}_only"
    id = Column(Integer, primary_key=True)
EOF
  other=$([ $b = a ] && echo b || echo a)
  cat >"$work/$b/tests/test_branch.py" <<EOF
from sqlalchemy import inspect

from app.db import engine


def test_this_branch_schema():
    names = set(inspect(engine).get_table_names())
    assert "branch_${b}_only" in names, "this worker's database lacks branch ${b}'s table"
    assert "branch_${other}_only" not in names, "this worker's database holds branch ${other}'s table"
EOF
done
ntests=$(cat "$work/a"/tests/test_*.py | grep -c '^def test_')

# check_round LABEL BRANCH EVENTS: every database the run cloned holds its branch's table only
check_dbs() {
  "$PY" - "$@" <<'PY'
import json, sys
import psycopg
label, branch, events = sys.argv[1:4]
other = "b" if branch == "a" else "a"
ev = [json.loads(l) for l in open(events)]
dbs = sorted({e["database"] for e in ev if e["event"] == "clone"})
bad = []
if len(dbs) != 4:
    bad.append("%d worker databases, expected 4: %r" % (len(dbs), dbs))
for db in dbs:
    with psycopg.connect(dbname=db) as c:
        have = {r[0] for r in c.execute("SELECT relname FROM pg_class WHERE relname LIKE 'branch\\__\\_only'")}
    if have != {"branch_%s_only" % branch}:
        bad.append("%s holds %r, expected only branch_%s_only" % (db, sorted(have), branch))
for b in bad:
    print("FAIL: [%s] %s" % (label, b))
if not bad:
    print("ok: [%s] the 4 worker databases (%s) hold branch %s's schema only" % (label, ", ".join(dbs), branch))
sys.exit(1 if bad else 0)
PY
}

# start BRANCH RUN LABEL [pytest args]: pytest -n 4 in the background
start() {
  local b=$1 run=$2 label=$3; shift 3
  rm -f "$work/ev.$label" "$work/out.$label"
  (cd "$work/$b" && PG_MINT_RUN=$run PG_MINT_EVENTS="$work/ev.$label" timeout 300 \
     "$VPY" -m pytest -q -n 4 "$@" >"$work/out.$label" 2>&1; echo "exit $?" >>"$work/out.$label") &
  pids+=($!)
}
# finish LABEL NTESTS: wait for its pytest, check it passed
finish() {
  local label=$1 n=$2
  wait_for "$work/out.$label" '^exit ' 300 || { fail "[$label] pytest did not end in 300 s"; return 1; }
  if grep -q '^exit 0' "$work/out.$label" && grep -Eq "^$n passed" "$work/out.$label"; then
    ok "[$label] pytest -n 4: $n passed"
  else
    fail "[$label] pytest did not pass all $n tests:"; tail -30 "$work/out.$label"; return 1
  fi
}

# ---- A. two branches, three rounds -------------------------------------------
for round in 1 2 3; do
  if [ $((round % 2)) = 1 ]; then first=a; second=b; else first=b; second=a; fi
  start $first "$first$round" "$first$round"
  wait_for "$work/ev.$first$round" '"event": "begin"' 120 || fail "[round $round] branch $first never called template_begin"
  start $second "$second$round" "$second$round"
  finish "a$round" "$ntests" && { check_dbs "a$round" a "$work/ev.a$round" || fails=$((fails + 1)); }
  finish "b$round" "$ntests" && { check_dbs "b$round" b "$work/ev.b$round" || fails=$((fails + 1)); }
done
"$PY" - "$work" <<'PY' || fails=$((fails + 1))
import glob, json, os, sys
work = sys.argv[1]
builds, fps = {}, {}
for path in sorted(glob.glob(os.path.join(work, "ev.[ab][123]"))):
    branch = os.path.basename(path)[3]
    for e in map(json.loads, open(path)):
        if e["event"] == "begin":
            fps.setdefault(branch, set()).add(e["fingerprint"])
            if e["result"] == "build":
                builds[e["fingerprint"]] = builds.get(e["fingerprint"], 0) + 1
bad = []
if any(len(v) != 1 for v in fps.values()) or len(fps) != 2 or fps["a"] == fps["b"]:
    bad.append("fingerprints per branch: %r" % fps)
counts = {b: builds.get(next(iter(fps.get(b, {""}))), 0) for b in "ab"}
if counts != {"a": 1, "b": 1}:
    bad.append("builds per branch over three rounds: %r, expected one each" % counts)
for b in bad:
    print("FAIL:", b)
if not bad:
    print("ok: exactly one build per fingerprint over three rounds (branch a: %d, branch b: %d)" % (counts["a"], counts["b"]))
sys.exit(1 if bad else 0)
PY
n_versions=$(q "SELECT count(*) FROM mint.databases WHERE kind = 'template' AND version_of = '$TPL'")
[ "$n_versions" = 2 ] && ok "two versions of $TPL side by side" || fail "$n_versions versions of $TPL, expected 2"

# ---- B. two concurrent runs of branch a, each ending with its gc --------------
cat >"$work/a/tests/test_zz_barrier.py" <<'EOF'
import os
import time

import psycopg
import pytest

BARRIER = os.environ.get("BARRIER_DIR")


def _run_databases(c, run):
    return sorted(c.execute("SELECT d.datname, d.oid FROM mint.databases m JOIN pg_database d USING (datname)"
                            " WHERE m.kind = 'clone' AND m.run = %s", (run,)).fetchall())


@pytest.mark.skipif(not BARRIER, reason="only in the run that waits for another run")
def test_other_run_leaves_ours_alone():
    run = os.environ["PG_MINT_RUN"]
    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        deadline = time.monotonic() + 120
        before = _run_databases(c, run)
        while len(before) < 4:  # the other workers may still be cloning theirs
            assert time.monotonic() < deadline, "this run has %d databases, expected 4" % len(before)
            time.sleep(0.05)
            before = _run_databases(c, run)
        assert len(before) == 4, before
        open(os.path.join(BARRIER, "ready"), "w").close()
        deadline = time.monotonic() + 240
        while not os.path.exists(os.path.join(BARRIER, "go")):
            assert time.monotonic() < deadline, "the other run did not finish within 240 s"
            time.sleep(0.05)
        after = _run_databases(c, run)
    assert after == before, "the other run replaced or dropped databases of this run: %r -> %r" % (before, after)
EOF
mkdir -p "$work/barrier"
BARRIER_DIR="$work/barrier" start a R2 R2
deadline=$((SECONDS + 120))
while [ ! -e "$work/barrier/ready" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
if [ -e "$work/barrier/ready" ]; then
  ok "[R2] running, its 4 databases recorded"
  r2_before=$(q "SELECT string_agg(datname || ':' || d.oid, ',' ORDER BY datname) FROM mint.databases m JOIN pg_database d USING (datname) WHERE m.run = 'R2'")
  start a R1 R1
  finish R1 "$ntests"  # (the waiting test is skipped there)
  gc_out=$(cd "$work/a" && PG_MINT_RUN=R1 pg_mint -q gc --older-than 0)
  [ "$(echo "$gc_out" | grep -c "_R1_")" = 4 ] && ok "[R1] its final gc dropped its 4 clones" \
    || fail "[R1] gc --older-than 0 dropped: $gc_out"
  echo "$gc_out" | grep -q "_R2_" && fail "[R1] its gc dropped R2's databases: $gc_out"
  r2_after=$(q "SELECT string_agg(datname || ':' || d.oid, ',' ORDER BY datname) FROM mint.databases m JOIN pg_database d USING (datname) WHERE m.run = 'R2'")
  [ -n "$r2_before" ] && [ "$r2_before" = "$r2_after" ] && ok "[R2] same 4 databases (names, OIDs) after R1's run and gc" \
    || fail "[R2] databases changed: '$r2_before' -> '$r2_after'"
  touch "$work/barrier/go"
  finish R2 $((ntests + 1))
  gc2=$(cd "$work/a" && PG_MINT_RUN=R2 pg_mint -q gc --older-than 0 | grep -c "_R2_")
  [ "$gc2" = 4 ] && ok "[R2] its final gc dropped its 4 clones" || fail "[R2] its gc dropped $gc2 clones"
else
  fail "[R2] never reached the barrier"; tail -20 "$work/out.R2"
fi

cd / || true
if [ "$fails" -gt 0 ]; then
  echo "branches_runs: $fails failure(s)"
  exit 1
fi
echo "branches_runs: all passed"
