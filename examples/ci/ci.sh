#!/usr/bin/env bash
# examples/ci/ci.sh -- the steps of github-actions.yml as a shell script, for
# any CI (or a laptop) whose PostgreSQL server has pg_mint installed.
#
#   DATABASE_URL=postgresql+psycopg://user:pw@host:5432/app_test bash examples/ci/ci.sh
#
# Environment:
#   DATABASE_URL   the app's URL (server, credentials, base database name);
#                  pg_mint itself connects to the `postgres` database there
#                  (or set PGHOST/PGPORT/PGUSER/PGPASSWORD, or PG_MINT_DSN)
#   SHARD_TOTAL    number of shards (default 1)
#   SHARD_INDEX    run only this shard (0-based); unset: run every shard, at
#                  the same time, as a CI matrix would
#   WORKERS        pytest-xdist workers per shard (default: nproc)
#   PYTHON         the Python with the app's dependencies and pytest-pg-mint
#                  (pip install ./python; default python3)
set -euo pipefail

cd "$(dirname "$0")/../pytest-xdist"
PY=${PYTHON:-python3}
export DATABASE_URL=${DATABASE_URL:-postgresql+psycopg://postgres@localhost:5432/app_test}
export SHARD_TOTAL=${SHARD_TOTAL:-1}
WORKERS=${WORKERS:-$(nproc)}
TEMPLATE=${APP_TEMPLATE:-app_tpl}
base=$("$PY" -c 'import os; from sqlalchemy.engine import make_url
print(make_url(os.environ["DATABASE_URL"]).database or "app_test")')

# step "Template": built once per content of app/models; a job that finds it
# ready (or being built by another job on the same server) skips or waits
pg_mint template "$TEMPLATE" --fingerprint-files app/models -- "$PY" -m app.create_schema

# step "Tests", for one shard: a database for the shard and one per worker
run_shard() {
  local shard=$1 sbase="${base}_s$1" pids=() w p
  (
    env_lines=$(pg_mint clone "$TEMPLATE" --base "$sbase" --fingerprint-files app/models --print env)  # fails the step if the clone fails
    eval "$env_lines"
    for ((w = 0; w < WORKERS; w++)); do
      pg_mint -q clone "$TEMPLATE" --base "$sbase" --worker "gw$w" --fingerprint-files app/models >/dev/null & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    SHARD_INDEX=$shard PG_MINT_PREPARED=1 PG_MINT_TEMPLATE=$TEMPLATE "$PY" -m pytest -n "$WORKERS" -q
  )
}

if [ -n "${SHARD_INDEX:-}" ]; then
  run_shard "$SHARD_INDEX"
else
  pids=()
  for ((s = 0; s < SHARD_TOTAL; s++)); do
    run_shard "$s" > >(sed "s/^/[shard $s] /") 2>&1 & pids+=($!)
  done
  status=0
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  exit $status
fi
