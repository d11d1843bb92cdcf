#!/usr/bin/env bash
# tests/suites/examples_alembic.sh -- examples/alembic-asyncpg (async
# SQLAlchemy on postgresql+asyncpg://, schema by Alembic with a data
# migration) through the pg_mint pytest plugin, installed with pip into a venv
# in the scratch dir, configured only in pytest.ini:
#   * -n 4, -n 8 (given in PYTEST_ADDOPTS: the controller does nothing) and
#     without xdist all pass (later runs -n 2, to keep the suite short); the template is migrated once per
#     fingerprint (migrations/ + alembic.ini), every worker has its own fresh
#     database holding only its own rows, the asyncpg URL keeps ?ssl=disable;
#   * a new migration rebuilds the template once (tests check the head);
#   * a stray session on a worker's database does not fail the next run;
#   * mint_fresh_database gives each test a database no other test wrote to;
#   * python/tests (URLs, redaction, fingerprints = the CLI's, byte for byte);
#   * the same run with psycopg2 as pg_mint's driver (PG_MINT_DRIVER);
#   * the failures say what to do: a failing build (exit status and the last
#     lines of its output, built once across 4 workers and aborted), the
#     extension missing (the CREATE EXTENSION line), a role without CREATEDB
#     (ALTER ROLE ... CREATEDB), an unreachable server (the URL, password
#     redacted).
set -uo pipefail

# shellcheck source=tests/suites/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
suite_setup exal

cleanup() {
  q "SELECT mint.drop(datname) FROM mint.databases WHERE datname LIKE '${BASE}%' ORDER BY kind = 'template'" >/dev/null 2>&1
  q "DROP DATABASE IF EXISTS ${BASE}_noext" >/dev/null 2>&1
  q "DROP ROLE IF EXISTS ${BASE}_weak" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

q "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mint" >/dev/null || { echo "FAIL: cannot create extension pg_mint"; exit 1; }
mint_venv || { echo "FAIL: pip install ./python into a venv"; exit 1; }
ok "pip install --no-build-isolation --no-index ./python into a venv"

# the package's own tests: URL rewriting, redaction and fingerprints agree
# with the pg_mint CLI byte for byte
# (from $work: `python -m pytest` puts the current directory on sys.path, and
# the tree's root holds the extension's pg_mint.so)
if (cd "$work" && "$VPY" -m pytest -q -p no:xdist -p no:cacheprovider pkgsrc/tests) >"$work/unit.log" 2>&1 \
   && ! grep -q skipped "$work/unit.log"; then
  ok "python/tests: $(tail -1 "$work/unit.log")"
else
  fail "python/tests:"; tail -30 "$work/unit.log"
fi

cp -r "$here/examples/alembic-asyncpg" "$work/proj"
find "$work/proj" -name __pycache__ -prune -exec rm -rf {} +
cd "$work/proj" || exit 1

export DATABASE_URL="postgresql+asyncpg://${PGUSER}@127.0.0.1:${PGPORT}/${BASE}?ssl=disable"
unset TEST_DATABASE_URL PG_MINT_MAINTENANCE_URL PG_MINT_TEMPLATE PG_MINT_PREPARED PG_MINT_BUILD PYTEST_ADDOPTS PG_MINT_DRIVER
ntests=$(cat tests/test_*.py | grep -c '^def test_')
export BASE TPL

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
  "$VPY" "$here/tests/suites/lib/check_run.py" "$ev" "$label" "$nworkers" "$nbuilds" test_log "$ntests" \
    || fails=$((fails + 1))
}

run n4 4 1 -n 4
# -n from the environment (as from addopts): the xdist controller must still
# do nothing (exactly 8 template_begin calls, one per worker)
PYTEST_ADDOPTS="-n 8" run n8 8 0
run serial 1 0 -p no:xdist
fp1=$(q "SELECT fingerprint FROM mint.databases WHERE datname = '$TPL'")

# a new migration: the head moves, so a stale template fails test_schema_is_at_head
cat >migrations/versions/0003_tags.py <<'PY'
"""tags

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text))


def downgrade():
    op.drop_table("tags")
PY
run migrated 2 1 -n 2
fp2=$(q "SELECT fingerprint FROM mint.databases WHERE datname = '$TPL'")
has_tags=$(psql -X -qAt -d "$(q "SELECT mint.worker_name('$BASE', 'gw0')")" -c "SELECT to_regclass('tags') IS NOT NULL")
[ -n "$fp1" ] && [ "$fp1" != "$fp2" ] && [ "$has_tags" = t ] \
  && ok "a new migration changed the fingerprint and the clones have its table" \
  || fail "after a new migration: fingerprint '$fp1' -> '$fp2', tags table in gw0: '$has_tags'"

# a stray session on a worker's database does not fail the next run
stray_db=$(q "SELECT mint.worker_name('$BASE', 'gw1')")
timeout 120 psql -X -qAt -d "$stray_db" -c "SELECT pg_sleep(100)" >/dev/null 2>&1 & stray=$!
for _ in $(seq 100); do
  [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$stray_db' AND query LIKE '%pg_sleep(100)%'")" = 1 ] && break
  sleep 0.1
done
run stray 2 0 -n 2
if wait "$stray"; then fail "the stray session on $stray_db was not ended"
else ok "a stray session on $stray_db was ended by mint.clone; the run passed"; fi

# psycopg2 as pg_mint's driver
PG_MINT_DRIVER=psycopg2 run psycopg2 1 0 -p no:xdist

# ---- failures ---------------------------------------------------------------
# fail LABEL OUT EXPECT...: pytest must have failed, and OUT hold each pattern
expect_fail() {
  local label=$1 out=$2 rc=$3; shift 3
  local missing=()
  [ "$rc" != 0 ] || missing+=("a non-zero exit status")
  for pat in "$@"; do grep -Fq -- "$pat" "$out" || missing+=("$pat"); done
  if [ ${#missing[@]} -eq 0 ]; then ok "[$label] fails with: $(grep -m1 -o 'pg_mint: .*' "$out" | cut -c1-150)"
  else fail "[$label] missing from the output: ${missing[*]}"; tail -20 "$out"; fi
}

# a build that fails, with 3 workers: the command runs once (the workers that
# become builder after it see the failure and abort without running it),
# nothing half-built stays, the output is shown once
ev="$work/events.badbuild.jsonl"; rm -f "$ev"
PG_MINT_EVENTS="$ev" PG_MINT_BUILD='python -c "import sys; print(\"step one done\"); print(\"boom: relation users already exists\", file=sys.stderr); sys.exit(3)"' \
  timeout 300 "$VPY" -m pytest -q -n 3 --mint-template "${BASE}_bad_tpl" >"$work/badbuild.log" 2>&1
expect_fail badbuild "$work/badbuild.log" $? \
  "building template \"${BASE}_bad_tpl\" failed: the build command" "exited with status 3" \
  "step one done" "boom: relation users already exists"
nb=$(grep -c '"event": "build"' "$ev"); na=$(grep -c '"event": "abort"' "$ev"); nmsg=$(grep -c "exited with status 3" "$work/badbuild.log")
left=$(q "SELECT count(*) FROM pg_database WHERE datname = '${BASE}_bad_tpl'")
[ "$nb" = 1 ] && [ "$na" = 3 ] && [ "$nmsg" = 1 ] && [ "$left" = 0 ] \
  && ok "[badbuild] the build command ran once across 3 workers, each aborted, message shown once, no half-built template" \
  || fail "[badbuild] builds $nb, aborts $na, messages $nmsg, template left: $left"

# the extension missing in the maintenance database
q "CREATE DATABASE ${BASE}_noext" >/dev/null
timeout 120 "$VPY" -m pytest -q -p no:xdist --mint-maintenance "${BASE}_noext" >"$work/noext.log" 2>&1
expect_fail noext "$work/noext.log" $? "extension \"pg_mint\" is not installed in database \"${BASE}_noext\"" \
  "psql -d ${BASE}_noext -c 'CREATE EXTENSION pg_mint'"

# a role without CREATEDB
q "CREATE ROLE ${BASE}_weak LOGIN PASSWORD 'w3ak:p@ss'" >/dev/null
DATABASE_URL="postgresql+asyncpg://${BASE}_weak:w3ak%3Ap%40ss@127.0.0.1:${PGPORT}/${BASE}?ssl=disable" \
  timeout 120 "$VPY" -m pytest -q -p no:xdist >"$work/weak.log" 2>&1
expect_fail nocreatedb "$work/weak.log" $? "role \"${BASE}_weak\" may not create databases (no CREATEDB)" \
  "ALTER ROLE \"${BASE}_weak\" CREATEDB"

# an unreachable server: the URL is shown, its password is not
deadport=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for mode in "-p no:xdist"; do
  # shellcheck disable=SC2086
  DATABASE_URL="postgresql+asyncpg://${PGUSER}:Sup3rS3cret@127.0.0.1:${deadport}/${BASE}?ssl=disable" \
    timeout 120 "$VPY" -m pytest -q $mode >"$work/dead.log" 2>&1
  expect_fail "unreachable $mode" "$work/dead.log" $? \
    "could not connect to the maintenance database at postgresql://${PGUSER}:xxxxx@127.0.0.1:${deadport}/postgres"
  if grep -q Sup3rS3cret "$work/dead.log"; then fail "[unreachable $mode] the password shows in the output"; fi
done

cd / || true
if [ "$fails" -gt 0 ]; then
  echo "examples_alembic: $fails failure(s)"
  exit 1
fi
echo "examples_alembic: all passed"
