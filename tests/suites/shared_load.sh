#!/usr/bin/env bash
# tests/suites/shared_load.sh -- the short form of bench/shared_server (the
# one-server load test): 4 CI jobs x 2 workers x 4 tests, 1 job SIGKILLed
# mid-run, with admission control (pg_mint.max_concurrent_copies = 1) and
# without; fails when a job not killed failed, when anything is left after
# the janitor's run, or when the role held more than its quota.  Bounded:
# 120 s per configuration.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
suite_setup sload
trap 'rm -rf "$work"' EXIT
TMPDIR=$work "$PY" "$here/bench/shared_server.py" --jobs 4 --workers 2 --tests 4 --kill 1 --spares 2 \
  --rows 100 --lease 4 --admission 1,0 --deadline 120 --role "${BASE}_ci" --prefix "$BASE" \
  --json "$work/r.json"
rc=$?
if [ $rc = 0 ]; then ok "load test: no failures, no leftovers, quota held"; else fail "load test (exit $rc)"; fi
q "DROP ROLE IF EXISTS ${BASE}_ci" >/dev/null 2>&1 || true
echo "$fails failures"
[ "$fails" = 0 ]
