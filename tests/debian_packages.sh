#!/usr/bin/env bash
# tests/debian_packages.sh SRC -- the Debian packages, end to end (run as
# root by tests/run, stage "debian"; SRC is a copy of the tree it may build in):
#   1. dpkg-buildpackage -us -uc -b builds postgresql-NN-pg-mint (one per
#      major debian/pgversions and this machine allow) and pg-mint;
#   2. lintian reports no error or warning that debian/lintian-overrides
#      does not explain;
#   3. dpkg -i installs them: pg_mint --help works from PATH (/usr/bin), the
#      extension files are where PostgreSQL looks;
#   4. the regress and isolation suites run against the installed files on a
#      throwaway cluster (debian/tests/installcheck: pg_buildext
#      installcheck, as autopkgtest runs it), CREATE EXTENSION included;
#   5. dpkg --purge removes them and leaves none of their files behind.
# The machine is left as it was found: files the packages overwrite (a
# source build's `make install` of pg_mint into the same directories) are
# saved first and put back afterwards, also when a step fails.  Refuses to
# run (fails) when the packages are installed already.
set -uo pipefail

src=${1:?usage: tests/debian_packages.sh SRC}
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

installed_pkgs() { dpkg-query -W -f='${db:Status-Status} ${Package}\n' 'postgresql-*-pg-mint' pg-mint 2>/dev/null | awk '$1 == "installed" {print $2}'; }
if [ -n "$(installed_pkgs)" ]; then
  echo "FAIL: pg_mint's packages are installed on this machine already ($(installed_pkgs | tr '\n' ' ')): not touching them"
  exit 1
fi

work=$(mktemp -d /tmp/pg_mint_deb.XXXXXX)
ver=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
upver=${ver%-*}
tree="$work/pg-mint-$upver"
cp -a "$src" "$tree"
(cd "$tree" && make -s clean PG_CONFIG=/usr/bin/pg_config >/dev/null 2>&1; rm -rf tmp_check)
# debian/control lists the majors of the machine it was generated on
(cd "$tree" && pg_buildext updatecontrol)

# ---- 1. build ----------------------------------------------------------------
echo "== dpkg-buildpackage -us -uc -b (pg-mint $ver)"
if (cd "$tree" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
  ok "dpkg-buildpackage -us -uc -b builds"
else
  tail -40 "$work/build.log"; fail "dpkg-buildpackage failed"; rm -rf "$work"; exit 1
fi
mapfile -t debs < <(ls "$work"/*.deb | grep -v -- '-dbgsym_')
printf '   %s\n' "${debs[@]##*/}"
ext_debs=$(printf '%s\n' "${debs[@]}" | grep -c '/postgresql-[0-9]*-pg-mint_')
cli_debs=$(printf '%s\n' "${debs[@]}" | grep -c '/pg-mint_')
[ "$ext_debs" -ge 1 ] && [ "$cli_debs" = 1 ] && ok "$ext_debs postgresql-NN-pg-mint package(s) and pg-mint" \
  || fail "expected postgresql-NN-pg-mint and pg-mint, got: ${debs[*]##*/}"
cli_files=$(dpkg-deb -c "$(printf '%s\n' "${debs[@]}" | grep '/pg-mint_')")
echo "$cli_files" | grep -q ' \./usr/bin/pg_mint$' && ok "pg-mint ships /usr/bin/pg_mint" || fail "pg-mint does not ship /usr/bin/pg_mint"

# ---- 2. lintian --------------------------------------------------------------
if lintian --fail-on error,warning "$work"/*.changes >"$work/lintian.log" 2>&1; then
  ok "lintian: no unexplained error or warning"
else
  cat "$work/lintian.log"; fail "lintian"
fi
grep -E '^[EWIO]:' "$work/lintian.log" | sed 's/^/   /'

# ---- save what the packages will overwrite -------------------------------------
files=$(for d in "${debs[@]}"; do dpkg-deb -c "$d"; done | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort -u)
: >"$work/saved.list"
for f in $files; do [ -e "$f" ] || [ -L "$f" ] && echo "$f" >>"$work/saved.list"; done
if [ -s "$work/saved.list" ]; then
  tar -cpf "$work/saved.tar" -P -T "$work/saved.list"
  echo "   saved $(wc -l <"$work/saved.list") existing file(s) the packages replace"
fi
pkgs=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Package; done)
restore() {
  local p
  for p in $pkgs; do dpkg --purge "$p" >/dev/null 2>&1; done
  [ -s "$work/saved.list" ] && tar -xpf "$work/saved.tar" -P
}
trap 'restore; rm -rf "$work"' EXIT

# ---- 3. install --------------------------------------------------------------
if dpkg -i "${debs[@]}" >"$work/dpkg-i.log" 2>&1; then ok "dpkg -i installs them"
else cat "$work/dpkg-i.log"; fail "dpkg -i"; exit 1; fi
out=$(env -i PATH=/usr/bin:/bin pg_mint --help 2>&1) && echo "$out" | grep -q '^Usage:' \
  && ok "pg_mint --help from PATH (/usr/bin)" || fail "pg_mint --help from PATH: $out"
[ "$(env -i PATH=/usr/bin:/bin pg_mint --version)" = "pg_mint (pg_mint) ${upver%.*}" ] \
  && ok "pg_mint --version: ${upver%.*}" || fail "pg_mint --version: $(env -i PATH=/usr/bin:/bin pg_mint --version)"
for v in $(cd "$tree" && pg_buildext supported-versions 2>/dev/null || true); do
  [ -f "/usr/share/postgresql/$v/extension/pg_mint.control" ] && [ -f "/usr/lib/postgresql/$v/lib/pg_mint.so" ] \
    && ok "PostgreSQL $v: the extension's files are installed" || fail "PostgreSQL $v: extension files missing"
done

# ---- 4. the suites against the installed files -------------------------------
echo "== debian/tests/installcheck"
# pg_virtualenv's cluster listens on localhost at PGPORT when it is set: a
# port free now (the environment's PGPORT is the throwaway cluster's)
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if (cd "$tree" && env -u PGHOST -u PGDATABASE -u PGUSER PGPORT="$port" debian/tests/installcheck) >"$work/installcheck.log" 2>&1; then
  ok "CREATE EXTENSION pg_mint and the regress + isolation suites pass against the installed packages"
  grep -E '^(ok|not ok|test |# )|tests passed' "$work/installcheck.log" | tail -25 | sed 's/^/   /'
else
  grep -E '^(ok|not ok|test |# )|tests passed|failed' "$work/installcheck.log" | tail -40
  for d in "$tree"/tests/regress/regression.diffs "$tree"/tests/isolation/output_iso/regression.diffs; do
    [ -f "$d" ] && head -150 "$d"
  done
  fail "installcheck against the installed packages"
fi

# ---- 5. purge ----------------------------------------------------------------
for p in $pkgs; do dpkg --purge "$p" >>"$work/purge.log" 2>&1 || fail "dpkg --purge $p"; done
[ -z "$(installed_pkgs)" ] && ok "dpkg --purge removes them" || fail "still installed: $(installed_pkgs)"
left=""
for f in $files; do { [ -e "$f" ] || [ -L "$f" ]; } && left="$left $f"; done
[ -z "$left" ] && ok "no file of theirs is left" || fail "left after purge:$left"
for p in $pkgs; do [ -e "/usr/share/doc/$p" ] && fail "/usr/share/doc/$p is left"; done

# ---- put back what was there ----------------------------------------------------
trap - EXIT
if [ -s "$work/saved.list" ]; then
  tar -xpf "$work/saved.tar" -P
  missing=$(while read -r f; do [ -e "$f" ] || [ -L "$f" ] || echo "$f"; done <"$work/saved.list")
  [ -z "$missing" ] && ok "the $(wc -l <"$work/saved.list") file(s) saved before are back" || fail "not restored: $missing"
fi
rm -rf "$work"
echo "$fails failed"
[ "$fails" = 0 ]
