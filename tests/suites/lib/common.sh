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

# mint_venv: a venv in $work/venv (Debian's packages visible) with pg_mint's
# Python package installed from a copy of python/, offline, as a user would:
#   python3 -m venv --system-site-packages V; V/bin/pip install --no-build-isolation --no-index ./python
# sets VPY (its python); returns non-zero (after printing pip's output) on failure.
mint_venv() {
  VPY=$work/venv/bin/python
  [ -x "$VPY" ] && return 0
  cp -r "$here/python" "$work/pkgsrc" && rm -rf "$work/pkgsrc/build" "$work/pkgsrc"/*.egg-info
  "$PY" -m venv --system-site-packages "$work/venv" >"$work/venv.log" 2>&1 \
    && "$work/venv/bin/pip" install --no-build-isolation --no-index --no-cache-dir "$work/pkgsrc" >>"$work/venv.log" 2>&1 \
    || { cat "$work/venv.log"; return 1; }
}
