#!/usr/bin/env bash
# run_with_cli.sh -- the same suite, with the databases made by the pg_mint CLI
# in shell steps (as a CI job would) instead of by the pg_mint pytest plugin.
#
#   DATABASE_URL=postgresql+psycopg://user@host/app_test bash run_with_cli.sh [-n N] [pytest args]
#
# 1. build the template once per content of app/models (the command runs only
#    when the fingerprint changed; DATABASE_URL points at the template for it);
# 2. clone it: one database for the job, plus one per xdist worker with -n N;
# 3. run pytest with PG_MINT_PREPARED=1: the plugin only picks the worker's
#    database (mint.worker_name) and builds or clones nothing.
# The server comes from PGHOST/PGPORT/PGUSER or, when those are unset, from
# DATABASE_URL (pg_mint talks to its maintenance database, `postgres`).
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-/usr/bin/python3}
BASE=${APP_BASE:-app_test}
TPL=${APP_TEMPLATE:-${BASE}_tpl}
export DATABASE_URL=${DATABASE_URL:-postgresql+psycopg:///$BASE}

# how many xdist workers (-n N / -n auto), to clone one database each
workers=0
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    -n|--numprocesses) workers=${args[i+1]:-0} ;;
    -n*) workers=${args[i]#-n} ;;
    --numprocesses=*) workers=${args[i]#*=} ;;
  esac
done
[ "$workers" = auto ] && workers=$(nproc)

# step 1: the template (waits if another job is building it)
pg_mint template "$TPL" --fingerprint-files app/models -- "$PY" -m app.create_schema

# step 2: the job's database; DATABASE_URL and PGDATABASE now name it
# (--fingerprint-files: the version step 1 built, when other branches keep
# theirs on the same server; the run identity comes from PG_MINT_RUN or CI)
env_lines=$(pg_mint clone "$TPL" --base "$BASE" --fingerprint-files app/models --print env)  # (a failed clone stops the script here)
eval "$env_lines"
# ... and one per xdist worker, all at once
pids=()
for ((w = 0; w < workers; w++)); do
  pg_mint -q clone "$TPL" --base "$BASE" --worker "gw$w" --fingerprint-files app/models >/dev/null & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done

# step 3: the tests
PG_MINT_PREPARED=1 exec "$PY" -m pytest "$@"
