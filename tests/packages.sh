#!/usr/bin/env bash
# tests/packages.sh -- the Debian/Ubuntu packages pg_mint's make targets need,
# installed the same way for `make demo` (examples/demo/run) and `make test`
# (tests/run): the one place that lists them.
#
#   bash tests/packages.sh demo   build + run: compiler, PostgreSQL 15 server
#                                 and its development files, libpq
#   bash tests/packages.sh test   the same, plus what the test suites use
#                                 (Perl TAP modules, pytest, benchmark and
#                                 Debian packaging tools)
#
# Missing packages are installed with apt-get when run as root; otherwise the
# script prints the one `apt-get install` line to run and exits 1.  Exits 0
# when everything is there already (it then prints nothing).
set -uo pipefail

DEMO_PACKAGES="build-essential postgresql-15 postgresql-server-dev-15 libpq-dev libkrb5-dev"
TEST_PACKAGES="$DEMO_PACKAGES libipc-run-perl python3-pytest python3-pytest-xdist python3-psycopg
  python3-sqlalchemy python3-yaml hyperfine gnuplot-nox rsync
  postgresql-server-dev-all debhelper dpkg-dev fakeroot lintian groff-base
  python3-psycopg2 python3-alembic python3-asyncpg python3-greenlet python3-django python3-pytest-django
  python3-venv python3-pip python3-setuptools python3-wheel
  postgresql-15-cron prometheus-postgres-exporter curl"

case "${1:-}" in
  demo) want=$DEMO_PACKAGES ;;
  test) want=$TEST_PACKAGES ;;
  *) echo "usage: tests/packages.sh demo|test" >&2; exit 2 ;;
esac

missing=()
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { echo "apt-get install failed" >&2; exit 1; }
else
  echo "missing packages; run as root:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
