#!/usr/bin/env bash
# tests/suites/docs.sh -- docs that cannot rot (tests/doctest_md.py does the work):
#   * every code block marked `doctest` in README.md and the Markdown files
#     under docs/, bench/, examples/ runs against the throwaway cluster
#     (sql: psql with ON_ERROR_STOP; sh: bash -e with the installed CLI on
#     PATH; file=PATH blocks are written into the file's scratch project);
#   * the CI recipes under examples/ (GitHub Actions, GitLab CI, compose) are
#     valid YAML, and every file, Dockerfile, image build, make target and
#     pg_mint command they name exists; no service runs an image without
#     pg_mint;
#   * every pg_mint command and make target named in any sh block exists;
#   * every relative Markdown link and #anchor resolves;
#   * the man page renders without warnings, names every command of
#     `pg_mint --help`, and make install/uninstall put and remove it;
#   * bench/README.md holds what bench/results/results.json renders;
#   * README.md stays short (at most 300 lines).
set -uo pipefail

# shellcheck source=tests/suites/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
suite_setup docs
trap 'rm -rf "$work"' EXIT
cd "$here" || exit 1

if ! command -v pg_mint >/dev/null 2>&1; then
  fail "the pg_mint CLI is not on PATH; the doc tests need it"
  exit 1
fi
q "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mint" >/dev/null \
  || { fail "cannot create extension pg_mint"; exit 1; }

for c in run ci commands links; do
  if "$PY" tests/doctest_md.py "$c"; then ok "doctest_md.py $c"; else fail "doctest_md.py $c"; fi
done

# ---- the man page -------------------------------------------------------------
if command -v groff >/dev/null 2>&1; then
  warnings=$(groff -man -Tutf8 -ww -z cli/pg_mint.1 2>&1)
  [ -z "$warnings" ] && ok "cli/pg_mint.1 renders without warnings" \
    || fail "cli/pg_mint.1: groff warns: $warnings"
  page=$(MANWIDTH=200 LC_ALL=C.UTF-8 man -l cli/pg_mint.1 2>/dev/null | col -b 2>/dev/null)
  [ -n "$page" ] || page=$(groff -man -Tutf8 cli/pg_mint.1 2>/dev/null | sed 's/.\x08//g')
  missing=""
  for c in $(pg_mint --help | sed -n '/^Commands:/,/^$/p' | sed -nE 's/^  ([a-z]+) .*/\1/p' | sort -u); do
    grep -Eq "^ +pg_mint $c\b" <<<"$page" || missing="$missing $c"
  done
  [ -z "$missing" ] && ok "the man page's synopsis names every command of pg_mint --help" \
    || fail "the man page lacks:$missing"
else
  fail "groff is not installed (apt-get install groff-base): the man page is not checked"
fi
dest="$work/dest"
if make -s install-cli DESTDIR="$dest" >"$work/make.log" 2>&1 \
   && [ -f "$dest$(pg_config --mandir)/man1/pg_mint.1" ] && [ -x "$dest$(pg_config --bindir)/pg_mint" ]; then
  ok "make install-cli installs the CLI and pg_mint.1 into \$(mandir)/man1"
else
  fail "make install-cli did not install the man page"; cat "$work/make.log"
fi
if make -s uninstall-cli DESTDIR="$dest" >"$work/make.log" 2>&1 && [ -z "$(find "$dest" -type f)" ]; then
  ok "make uninstall-cli removes both"
else
  fail "make uninstall-cli left: $(find "$dest" -type f)"
fi

# ---- generated and size checks -------------------------------------------------
if "$PY" bench/readme_section.py --check; then
  ok "bench/README.md holds what bench/results/results.json renders"
else
  fail "bench/README.md is stale: /usr/bin/python3 bench/readme_section.py --write"
fi
n=$(wc -l <README.md)
[ "$n" -le 300 ] && ok "README.md has $n lines" || fail "README.md has $n lines (more than 300): move reference material to docs/"

if [ "$fails" -gt 0 ]; then
  echo "docs: $fails failure(s)"
  exit 1
fi
echo "docs: all passed"
