#!/usr/bin/env bash
# tests/suites/install_layout.sh -- what `make install` and `make uninstall`
# put where, against a DESTDIR (the files tests/run installed stay untouched):
#   * make install installs the extension (library, control file, every SQL
#     script), the CLI into `pg_config --bindir` and a symlink to it into
#     CLI_LINKDIR (/usr/local/bin), and ends by printing where they went;
#   * CLI_LINKDIR= installs no link; a file there that is not a symlink is
#     left alone (with a note), and make uninstall leaves it too;
#   * make uninstall removes every file and link make install made;
#   * after tests/run's own install (no PG_CONFIG given), `pg_mint --help`
#     works from a PATH of /usr/local/bin:/usr/bin:/bin.
set -uo pipefail

# shellcheck source=tests/suites/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
suite_setup inst
trap 'rm -rf "$work"' EXIT
: "${PG_CONFIG:?tests/run exports PG_CONFIG}"
bindir=$("$PG_CONFIG" --bindir); pkglibdir=$("$PG_CONFIG" --pkglibdir); sharedir=$("$PG_CONFIG" --sharedir)
ver=$(sed -n 's/^EXT_VERSION = //p' "$here/Makefile")

files_under() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort); }

d="$work/dest"
out=$(cd "$here" && make -s install DESTDIR="$d" 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] && ok "make install DESTDIR=... exits 0" || fail "make install exited $rc"
for f in "$pkglibdir/pg_mint.so" "$sharedir/extension/pg_mint.control" "$bindir/pg_mint"; do
  [ -f "$d$f" ] && ok "installed $f" || fail "missing $d$f"
done
for s in "$here"/sql/pg_mint--*.sql; do
  [ -f "$d$sharedir/extension/$(basename "$s")" ] || fail "missing $(basename "$s") in $d$sharedir/extension"
done
ok "every sql/pg_mint--*.sql is installed"
grep -q "default_version = '$ver'" "$d$sharedir/extension/pg_mint.control" && ok "the control file names $ver" \
  || fail "the installed control file does not name default_version $ver"
l="$d/usr/local/bin/pg_mint"
[ -L "$l" ] && [ "$(readlink "$l")" = "$bindir/pg_mint" ] && ok "/usr/local/bin/pg_mint -> $bindir/pg_mint" \
  || fail "no link $l -> $bindir/pg_mint ($(readlink "$l" 2>&1))"
"$d$bindir/pg_mint" --help | grep -q "^Usage:" && ok "the installed CLI answers --help" \
  || fail "the installed CLI does not answer --help"
last=$(echo "$out" | sed -n '/^pg_mint .* installed:$/,$p')   # the report: from its header to the end
echo "$last" | grep -q "^pg_mint $ver.0 installed:" && ok "make install reports what it installed" || fail "no report"
echo "$last" | grep -q "^  extension  $d$pkglibdir/pg_mint.so$" && ok "... the library's path" || fail "report: no library path"
echo "$last" | grep -q "^  CLI        $d$bindir/pg_mint$" && ok "... the CLI's path" || fail "report: no CLI path"
echo "$last" | grep -q "^             $l -> $bindir/pg_mint$" && ok "... the link" || fail "report: no link"

out=$(cd "$here" && make -s uninstall DESTDIR="$d" 2>&1); rc=$?
[ $rc = 0 ] && ok "make uninstall exits 0" || fail "make uninstall exited $rc: $out"
left=$(files_under "$d")
[ -z "$left" ] && ok "make uninstall removes every file and link make install made" \
  || fail "left after make uninstall: $(echo "$left" | tr '\n' ' ')"

# no link wanted; a file of someone else's where the link would go
d2="$work/dest2"
(cd "$here" && make -s install DESTDIR="$d2" CLI_LINKDIR= >/dev/null 2>&1) || fail "make install CLI_LINKDIR= failed"
[ ! -e "$d2/usr/local/bin/pg_mint" ] && ok "CLI_LINKDIR= installs no link" || fail "CLI_LINKDIR= made $d2/usr/local/bin/pg_mint"
(cd "$here" && make -s uninstall DESTDIR="$d2" CLI_LINKDIR= >/dev/null 2>&1)
[ -z "$(files_under "$d2")" ] && ok "... and make uninstall CLI_LINKDIR= removes everything" || fail "left in $d2"
d3="$work/dest3"; mkdir -p "$d3/usr/local/bin"; echo mine >"$d3/usr/local/bin/pg_mint"
out=$(cd "$here" && make -s install DESTDIR="$d3" 2>&1) || fail "make install beside a foreign file failed"
[ "$(cat "$d3/usr/local/bin/pg_mint")" = mine ] && [ ! -L "$d3/usr/local/bin/pg_mint" ] \
  && ok "a file /usr/local/bin/pg_mint that is not a symlink is left alone" || fail "the foreign file was replaced"
echo "$out" | grep -q "exists and is not a symlink" && ok "... with a note" || fail "no note about the foreign file"
(cd "$here" && make -s uninstall DESTDIR="$d3" >/dev/null 2>&1)
[ "$(files_under "$d3")" = "/usr/local/bin/pg_mint" ] && ok "... make uninstall leaves it too" \
  || fail "after uninstall: $(files_under "$d3" | tr '\n' ' ')"

if [ "${MINT_CLI_LINKED:-0}" = 1 ]; then
  if env PATH=/usr/local/bin:/usr/bin:/bin pg_mint --help >/dev/null 2>&1; then
    ok "pg_mint --help works from PATH after tests/run's make install"
  else
    fail "pg_mint is not on PATH (/usr/local/bin:/usr/bin:/bin) after make install"
  fi
else
  echo "skip: PG_CONFIG was given: tests/run installed no /usr/local/bin link"
fi

echo "$fails failed"
[ "$fails" = 0 ]
