#!/usr/bin/env bash
# tests/bench_check/bench_quick.sh -- `bench/run --quick` executes and produces a
# results table.  No timing assertions: only that every contender ran (or was
# skipped for a stated reason), that the recipe's worst case failed the way
# PostgreSQL makes it fail, and that pg_mint's rows were measured whenever the
# extension can be created.
set -uo pipefail

cd "$(dirname "$0")/../.."
out=$(mktemp -d "${TMPDIR:-/tmp}/bench_quick.XXXXXX")
trap 'rm -rf "$out"' EXIT
fail=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok - $what"; else echo "not ok - $what"; fail=1; fi
}

start=$(date +%s)
if ! timeout 300 bash bench/run --quick --out "$out/results" >"$out/log" 2>&1; then
  echo "not ok - bench/run --quick exited with an error; its output:"
  sed 's/^/  | /' "$out/log"
  exit 1
fi
echo "ok - bench/run --quick ran in $(( $(date +%s) - start )) s"
md=$out/results/results.md

check "results.md written" test -s "$md"
check "results.md has the table header" \
  grep -q '^| contender | runs | failed | p50 | p95 | max | ratio to floor |$' "$md"
check "results.md records the server version and settings" \
  grep -Eq '^- settings: fsync=(on|off), .*shared_buffers=.*strategy=' "$md"
check "results.md records the cores" grep -Eq '^- machine: [0-9]+ cores' "$md"

# a measured row: | label | runs>0 | failed | p50 number | ...
row_measured() {
  grep -F "$1" "$md" | grep -Eq '^\| [^|]+ \| [1-9][0-9]* \| [0-9]+[^|]* \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+× \|$'
}
check "migrate row measured" row_measured '| 1 migrate per worker'
check "client-side recipe row measured" row_measured '| 2 client-side recipe'
check "floor row measured (default strategy, ratio 1.00×)" \
  bash -c "grep -F '| 3 floor' '$md' | grep -F '(default)' | grep -q '| 1.00× |\$'"
check "8-worker floor row measured" row_measured '| 6 8 at once: floor'
check "8-worker recipe row measured" row_measured '| 6 8 at once: client-side recipe'
check "recipe with a session on the template failed with 55006" \
  bash -c "grep -F '| 5 recipe, one idle session on the template' '$md' | grep -q '| 1 (55006) |'"

# pg_mint's contenders must have been measured when the extension is usable
if "${PGBIN:-$(pg_config --bindir)}/psql" -X -q -v ON_ERROR_STOP=1 -d postgres \
     -c 'CREATE EXTENSION IF NOT EXISTS pg_mint' >/dev/null 2>&1; then
  check "mint.clone row measured" row_measured '| 4 `mint.clone` replacing a worker db'
  check "mint.clone with an idle session on the target measured" \
    row_measured '| 5 `mint.clone`, one idle session on the target'
  check "8-worker mint.clone row measured" row_measured '| 6 8 at once: `mint.clone`'
  check "idle session on the target did not survive mint.clone" \
    grep -q 'idle_session_survived=0' "$md"
  check "warm pool row measured or skipped with a reason" \
    bash -c "grep -F '| 7 \`mint.clone\` from a warm pool' '$md' | grep -Eq '(×|skipped: .+) \|\$'"
else
  echo "# pg_mint not installed on this server: its rows are only checked to be skipped"
  check "mint rows skipped with a reason" grep -q 'skipped: pg_mint extension not available' "$md"
fi

check "results.json parses" /usr/bin/python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$out/results/results.json"
if command -v gnuplot >/dev/null 2>&1; then
  check "chart.png is a PNG" bash -c "head -c 8 '$out/results/chart.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
else
  echo "# gnuplot not installed: chart not checked"
fi

if [ $fail -ne 0 ]; then
  echo "--- results.md:"; cat "$md"
  echo "--- bench log:"; sed 's/^/  | /' "$out/log"
fi
exit $fail
