#!/usr/bin/env bash
# tests/suites/demo.sh -- `make demo` (examples/demo/run) as a new user sees it:
# it runs to the end on its own throwaway cluster (the extension is installed
# by tests/run) and its output shows the template built once, one line per
# worker with its clone's time, template_begin answering 'ready' without a
# rebuild, the measured cost of every worker migrating its own database, the
# summary, and mint.databases with the template and the 4 clones; its cluster
# is gone afterwards.
set -uo pipefail

# shellcheck source=tests/suites/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
suite_setup demo
trap 'rm -rf "$work"' EXIT

out="$work/demo.out"
( cd "$here" && make -s demo ) >"$out" 2>&1
rc=$?
cat "$out"
[ $rc = 0 ] && ok "make demo exits 0" || fail "make demo exited $rc"

has() {  # REGEX WHAT
  if grep -Eq -- "$1" "$out"; then ok "$2"; else fail "$2: no line matching /$1/"; fi
}
has '^   template_begin -> build; .*template_finish: [0-9]+ ms \([0-9.]+ [kMG]B\)' "the template is built once, with its time and size"
n=$(grep -Ec '^   worker gw[0-3]: demo_gw[0-3] +[0-9]+ ms  \(5000 products\)' "$out")
[ "$n" = 4 ] && ok "4 workers, each with its clone's time and its rows" || fail "expected 4 clone lines, got $n"
has '^   all 4 clones: [0-9]+ ms wall' "the clones' wall time"
has "^== template_begin again with the same fingerprint: 'ready' in [0-9]+ ms \(no rebuild\)" "asked again: ready, no rebuild"
n=$(grep -Ec '^   worker gw[0-3]: demo_migrated_gw[0-3] +[0-9]+ ms  \(its clone took [0-9]+ ms\)' "$out")
[ "$n" = 4 ] && ok "the measured cost of 4 workers migrating their own databases" || fail "expected 4 migration lines, got $n"
has '^   4 workers migrate their own, in parallel +[0-9]+ ms wall' "summary: migrating per worker"
has '^   4 workers get a clone each, in parallel +[0-9]+ ms wall' "summary: clones"
has '^ demo_tpl +\| template +\|' "mint.databases lists the template"
n=$(grep -Ec '^ demo_gw[0-3] +\| clone +\| demo_tpl +\|' "$out")
[ "$n" = 4 ] && ok "mint.databases lists the 4 clones" || fail "expected 4 clones in mint.databases, got $n"
grep -q 'demo_migrated_gw0 *|' "$out" && fail "mint.databases lists a database pg_mint did not make" \
  || ok "mint.databases does not list the migrated databases"
d=$(sed -n 's/^== starting a throwaway cluster in //p' "$out")
if [ -n "$d" ] && [ ! -e "$d" ]; then ok "the demo's cluster ($d) is gone"; else fail "the demo's cluster '$d' is still there"; fi

echo "$fails failed"
[ "$fails" = 0 ]
