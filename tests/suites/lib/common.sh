# tests/suites/lib/common.sh -- the start every tests/suites/*.sh shares
# (sourced, not run: tests/run runs tests/suites/*.sh only).
#
#   . "$(dirname "$0")/lib/common.sh"; suite_setup PREFIX
#
# sets here (the tree), PY (Debian's python), PGDATABASE, the counters and
# helpers fail/ok/q, and BASE (PREFIX_<pid>, the suite's database names),
# TPL (${BASE}_tpl) and work (a scratch directory named after the suite).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
PY=/usr/bin/python3
: "${PGHOST:?}" "${PGPORT:?}" "${PGUSER:=postgres}"
export PGDATABASE=postgres

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
q() { psql -X -v ON_ERROR_STOP=1 -qAt -d postgres -c "$1"; }

suite_setup() {  # PREFIX
  BASE=$1_$$
  TPL=${BASE}_tpl
  work=$(mktemp -d "/tmp/$(basename "$0" .sh).XXXXXX")
}
