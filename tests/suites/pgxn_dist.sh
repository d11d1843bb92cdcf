#!/usr/bin/env bash
# tests/suites/pgxn_dist.sh -- the PGXN release:
#   * META.json follows PGXN's Meta Spec 1.0: the required keys, a semantic
#     version equal to the Makefile's DIST_VERSION (EXT_VERSION.0), whose
#     major.minor is pg_mint.control's default_version; provides.pg_mint names
#     the install script of that version (which exists) and the same version;
#     license postgresql; the PostgreSQL prerequisite is a version range from
#     13; resources are URLs; release_status and meta-spec are valid;
#   * every released version's install script and the upgrade chain up to
#     default_version exist;
#   * `make dist` writes pg_mint-X.Y.Z.zip from `git archive` of the
#     checkout's HEAD: every path under pg_mint-X.Y.Z/, holding META.json
#     (the same version), the Makefile, the control file and the SQL scripts,
#     and nothing that is not committed (no build products).
set -uo pipefail

# shellcheck source=tests/suites/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
suite_setup pgxn
trap 'rm -rf "$work"' EXIT

"$PY" - "$here" <<'PY' || fails=$((fails + 1))
import json, os, re, sys
root = sys.argv[1]
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        bad.append(what)

meta = json.load(open(os.path.join(root, "META.json")))
for k in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    check(k in meta, "META.json has required key %s" % k)
semver = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
check(meta.get("name") == "pg_mint", "name is pg_mint")
check(isinstance(meta.get("abstract"), str) and 0 < len(meta["abstract"]) < 200, "abstract is a short string")
ver = meta.get("version", "")
check(bool(semver.match(ver)), "version %r is a semantic version" % ver)
mk = open(os.path.join(root, "Makefile")).read()
ext = re.search(r"^EXT_VERSION = (\S+)$", mk, re.M).group(1)
dist = re.search(r"^DIST_VERSION = (\S+)$", mk, re.M).group(1).replace("$(EXT_VERSION)", ext)
check(ver == dist, "version %s = the Makefile's DIST_VERSION %s" % (ver, dist))
ctl = open(os.path.join(root, "pg_mint.control")).read()
default = re.search(r"^default_version = '([^']+)'", ctl, re.M).group(1)
check(default == ext, "pg_mint.control default_version %s = EXT_VERSION %s" % (default, ext))
check(ver.rsplit(".", 1)[0] == default, "version %s is default_version %s plus a patch level" % (ver, default))
m = meta.get("maintainer")
check((isinstance(m, str) and m) or (isinstance(m, list) and m and all(isinstance(x, str) and x for x in m)),
      "maintainer is a string or a list of strings")
check(meta.get("license") == "postgresql", "license is postgresql")
p = meta.get("provides", {}).get("pg_mint", {})
check(p.get("file") == "sql/pg_mint--%s.sql" % default, "provides.pg_mint.file is sql/pg_mint--%s.sql" % default)
check(os.path.isfile(os.path.join(root, p.get("file", "-"))), "... which exists")
check(p.get("version") == ver, "provides.pg_mint.version = version")
check(isinstance(p.get("abstract"), str), "provides.pg_mint.abstract is a string")
if "docfile" in p:
    check(os.path.isfile(os.path.join(root, p["docfile"])), "provides.pg_mint.docfile %s exists" % p["docfile"])
rng = meta.get("prereqs", {}).get("runtime", {}).get("requires", {}).get("PostgreSQL", "")
parts = [x.strip() for x in str(rng).split(",")]
okrange = bool(parts) and all(re.match(r"^(>=|<=|>|<|==|!=)?\s*\d+\.\d+\.\d+$", x) for x in parts)
check(okrange, "prereqs.runtime.requires.PostgreSQL %r is a version range" % rng)
check(any(re.match(r"^>=\s*13\.0\.0$", x) for x in parts), "... from 13.0.0")
res = meta.get("resources", {})
url = re.compile(r"^https://[^\s/]+\.[a-z]+(/\S*)?$")
check(url.match(res.get("homepage", "")) is not None, "resources.homepage is a URL")
check(url.match(res.get("bugtracker", {}).get("web", "")) is not None, "resources.bugtracker.web is a URL")
repo = res.get("repository", {})
check(url.match(repo.get("url", "")) is not None and url.match(repo.get("web", "")) is not None,
      "resources.repository url and web are URLs")
check(repo.get("type") == "git", "resources.repository.type is git")
check(meta.get("release_status") in ("stable", "testing", "unstable"), "release_status is stable, testing or unstable")
ms = meta.get("meta-spec", {})
check(ms.get("version") == "1.0.0" and ms.get("url") == "https://pgxn.org/meta/spec.txt", "meta-spec 1.0.0")
for k in meta:
    check(k in ("name", "abstract", "description", "version", "maintainer", "license", "provides", "prereqs",
                "resources", "no_index", "generated_by", "meta-spec", "tags", "release_status")
          or k.startswith("x_") or k.startswith("X_"), "key %s is one the spec defines" % k)

# the install scripts of every released version and the upgrade chain
sql = os.listdir(os.path.join(root, "sql"))
installs = sorted(f[len("pg_mint--"):-4] for f in sql if re.match(r"^pg_mint--\d+\.\d+\.sql$", f))
check(default in installs, "sql/pg_mint--%s.sql exists" % default)
key = lambda v: tuple(int(x) for x in v.split("."))
chain = sorted(installs, key=key)
for a, b in zip(chain, chain[1:]):
    check("pg_mint--%s--%s.sql" % (a, b) in sql, "upgrade script %s -> %s exists" % (a, b))
sys.exit(1 if bad else 0)
PY

# ---- make dist ---------------------------------------------------------------
# tests/run runs `make dist` in the checkout as the invoking user (the test
# user may not read it) and passes the archive (MINT_DIST_ZIP) beside the
# list of files committed at HEAD and HEAD's META.json; run by hand, the
# suite runs make dist in MINT_SRC itself
d=$(dirname "${MINT_DIST_ZIP:-/nonexistent/x}")
src=${MINT_SRC:-}
if [ -n "${MINT_DIST_ZIP:-}" ]; then
  ver=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$d/META.json")
  zip=$MINT_DIST_ZIP; out=$(cat "$d/make-dist.log"); rc=0; committed="$d/committed.txt"
elif [ -n "$src" ] && git -c safe.directory='*' -C "$src" rev-parse HEAD >/dev/null 2>&1; then
  ver=$(git -c safe.directory='*' -C "$src" show HEAD:META.json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["version"])')
  out=$(make -s -C "$src" dist DIST_DIR="$work" GIT="git -c safe.directory=*" 2>&1); rc=$?
  zip="$work/pg_mint-$ver.zip"; committed="$work/committed.txt"
  git -c safe.directory='*' -C "$src" ls-tree -r --name-only HEAD >"$committed"
else
  zip=""
  fail "make dist: neither MINT_DIST_ZIP (from tests/run) nor a git checkout in MINT_SRC"
fi
if [ -n "$zip" ]; then
  [ $rc = 0 ] && [ "$(basename "$zip")" = "pg_mint-$ver.zip" ] && [ -f "$zip" ] \
    && ok "make dist writes pg_mint-$ver.zip" || fail "make dist: rc=$rc: $out ($zip)"
  "$PY" - "$zip" "$ver" "$committed" <<'PY' || fails=$((fails + 1))
import json, sys, zipfile
zpath, ver, committed_list = sys.argv[1:]
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        bad.append(what)
z = zipfile.ZipFile(zpath)
names = z.namelist()
prefix = "pg_mint-%s/" % ver
check(all(n.startswith(prefix) for n in names), "every path in the zip is under %s" % prefix)
for f in ("META.json", "Makefile", "pg_mint.control", "README.md", "docs/install.md", "debian/control.in"):
    check(prefix + f in names, "the zip holds %s" % f)
m = json.loads(z.read(prefix + "META.json"))
check(m["version"] == ver, "its META.json names version %s" % ver)
check(prefix + m["provides"]["pg_mint"]["file"] in names, "it holds provides.pg_mint.file")
committed = set(open(committed_list).read().split())
files = set(n[len(prefix):] for n in names if not n.endswith("/"))
check(files == committed, "it holds exactly the files committed at HEAD (%d)" % len(committed))
check(not any(n.endswith((".o", ".so", ".bc")) for n in names), "no build products")
sys.exit(1 if bad else 0)
PY
fi

echo "$fails failed"
[ "$fails" = 0 ]
