#!/usr/bin/env bash
# tests/suites/examples_django.sh -- examples/django-shop (two apps with
# migrations, one a data migration) with ENGINE = "pg_mint.django", the
# package installed with pip into a venv in the scratch dir:
#   * manage.py test --parallel 4: the template is migrated once, the test
#     database and each worker's are clones of it (mint.worker_name(test, N)),
#     every process tests in its own database, and they are dropped after;
#   * manage.py test (serial), pytest -n 4 and -n 8 --reuse-db through
#     pytest-django: nothing is migrated again, each xdist worker has its own
#     clone, no "database already exists" prompt (stdin is closed);
#   * a new migration: migrated once, and the clones have its column;
#   * a stray session on a worker's database does not fail the run;
#   * the extension missing: the message names the CREATE EXTENSION line.
set -uo pipefail

# shellcheck source=tests/suites/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
suite_setup exdj

NAME=$BASE
TEST=test_$NAME
TPL=${TEST}_tpl
cleanup() {
  q "SELECT mint.drop(datname) FROM mint.databases WHERE datname LIKE '${TEST}%' ORDER BY kind = 'template'" >/dev/null 2>&1
  q "DROP DATABASE IF EXISTS ${BASE}_noext" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

q "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mint" >/dev/null || { echo "FAIL: cannot create extension pg_mint"; exit 1; }
mint_venv || { echo "FAIL: pip install ./python into a venv"; exit 1; }
ok "pip install --no-build-isolation --no-index ./python into a venv"
cp -r "$here/examples/django-shop" "$work/proj"
find "$work/proj" -name __pycache__ -prune -exec rm -rf {} +
cd "$work/proj" || exit 1
export SHOP_DB_NAME=$NAME TEST TPL
unset PG_MINT_MAINTENANCE_URL PG_MINT_EVENTS PYTEST_ADDOPTS SHOP_DB_ENGINE
ntests=$(cat ./*/tests.py | grep -c '    def test_')

# check EVENTS LABEL NBUILDS MODE(django N | xdist N): assertions on one run
check() {
  "$VPY" - "$@" <<'PY'
import json, os, sys
import psycopg
path, label, nbuilds, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
test, tpl, ntests = os.environ["TEST"], os.environ["TPL"], int(os.environ["NTESTS"])
ev = [json.loads(l) for l in open(path)]
bad = []
def chk(c, m):
    if not c:
        bad.append(m)
begins = [e for e in ev if e["event"] == "begin"]
clones = [e for e in ev if e["event"] == "clone"]
tests = [e for e in ev if e["event"] == "test"]
chk(sum(e["result"] == "build" for e in begins) == nbuilds,
    "%d builds, expected %d" % (sum(e["result"] == "build" for e in begins), nbuilds))
chk(not [e for e in ev if e["event"] == "abort"], "a build was aborted")
chk(len(tests) == ntests and len({e["test"] for e in tests}) == ntests, "%d test events, expected %d" % (len(tests), ntests))
by_pid = {}
for e in tests:
    by_pid.setdefault(e["pid"], set()).add(e["database"])
chk(all(len(d) == 1 for d in by_pid.values()), "a process used several databases: %r" % by_pid)
dbs = [next(iter(d)) for d in by_pid.values()]
chk(len(set(dbs)) == len(dbs), "processes shared a database: %r" % by_pid)
with psycopg.connect(dbname="postgres", autocommit=True) as c:
    if mode == "django":
        # one begin (the main process), clones: the test database + one per worker
        chk(len(begins) == 1, "%d template_begin calls, expected 1" % len(begins))
        want = {test} | {c.execute("SELECT mint.worker_name(%s, %s)", (test, str(i))).fetchone()[0] for i in range(1, n + 1) if n > 1}
        chk({e["database"] for e in clones} == want, "clones %r, expected %r" % (sorted(e["database"] for e in clones), sorted(want)))
        chk(set(dbs) <= want - {test} if n > 1 else set(dbs) == {test}, "tests ran in %r" % sorted(set(dbs)))
        left = c.execute("SELECT count(*) FROM mint.databases WHERE datname = ANY(%s)", (list(want),)).fetchone()[0]
        chk(left == 0, "%d test databases left after manage.py test" % left)
    else:
        chk(len(begins) == n, "%d template_begin calls, expected %d (one per xdist worker)" % (len(begins), n))
        for e in tests:
            chk(e["database"] == "%s_%s" % (test, e["worker"]), "worker %s tested in %s" % (e["worker"], e["database"]))
        for e in clones:
            row = c.execute("SELECT kind, template FROM mint.databases WHERE datname = %s", (e["database"],)).fetchone()
            chk(row in (None, ("clone", tpl)), "%s: %r" % (e["database"], row))
    row = c.execute("SELECT state FROM mint.databases WHERE datname = %s AND kind = 'template'", (tpl,)).fetchone()
    chk(row == ("ready",), "template %s: %r" % (tpl, row))
for b in bad:
    print("FAIL: [%s] %s" % (label, b))
if not bad:
    print("ok: [%s] %d build(s), %d tests in %d processes, each in its own database %s"
          % (label, nbuilds, len(tests), len(by_pid), sorted(set(dbs))))
sys.exit(1 if bad else 0)
PY
}
export NTESTS=$ntests

# run LABEL NBUILDS MODE N COMMAND...
run() {
  local label=$1 nbuilds=$2 mode=$3 n=$4; shift 4
  local ev="$work/events.$label.jsonl" out="$work/$label.log" t0=$SECONDS rc
  rm -f "$ev"
  PG_MINT_EVENTS="$ev" timeout 300 "$@" </dev/null >"$out" 2>&1; rc=$?
  if [ $rc = 0 ] && { grep -Eq "^Ran $ntests tests" "$out" && grep -q "^OK" "$out" || grep -Eq "^$ntests passed" "$out"; }; then
    ok "[$label] ${*#$VPY} : $ntests passed in $((SECONDS - t0)) s"
    check "$ev" "$label" "$nbuilds" "$mode" "$n" || fails=$((fails + 1))
  else
    fail "[$label] ${*#$VPY} (exit $rc):"; tail -30 "$out"
  fi
}

run parallel4 1 django 4 "$VPY" manage.py test --parallel 4
run serial 0 django 1 "$VPY" manage.py test
run xdist4 0 xdist 4 "$VPY" -m pytest -q -n 4
run xdist8 0 xdist 8 "$VPY" -m pytest -q -n 8 --reuse-db

# a new migration (a column), used by a new test: a stale clone would fail it
cat >>orders/models.py <<'PY'


class GiftNote(models.Model):
    order = models.OneToOneField(Order, on_delete=models.CASCADE)
    text = models.TextField()
PY
cat >orders/migrations/0002_giftnote.py <<'PY'
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [
        migrations.CreateModel(
            name="GiftNote",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.TextField()),
                ("order", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, to="orders.order")),
            ],
        ),
    ]
PY
cat >>orders/tests.py <<'PY'


class GiftNoteTests(TestCase):
    def test_gift_note(self):
        log_test(self.id())
        from orders.models import GiftNote
        GiftNote.objects.create(order=Order.objects.create(customer="eve"), text="happy birthday")
        self.assertEqual(GiftNote.objects.count(), 1)
PY
ntests=$((ntests + 1)); export NTESTS=$ntests
fp1=$(q "SELECT fingerprint FROM mint.databases WHERE datname = '$TPL'")
run migrated 1 xdist 2 "$VPY" -m pytest -q -n 2 --reuse-db
fp2=$(q "SELECT fingerprint FROM mint.databases WHERE datname = '$TPL'")
[ -n "$fp1" ] && [ "$fp1" != "$fp2" ] && ok "the new migration changed the template's fingerprint" \
  || fail "fingerprint '$fp1' -> '$fp2'"

# a stray session on a worker's database (left by --reuse-db)
stray_db=${TEST}_gw1
timeout 120 psql -X -qAt -d "$stray_db" -c "SELECT pg_sleep(100)" >/dev/null 2>&1 & stray=$!
for _ in $(seq 100); do
  [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$stray_db' AND query LIKE '%pg_sleep(100)%'")" = 1 ] && break
  sleep 0.1
done
run stray 0 xdist 2 "$VPY" -m pytest -q -n 2 --reuse-db
if wait "$stray"; then fail "the stray session on $stray_db was not ended"
else ok "a stray session on $stray_db was ended by mint.clone; the run passed"; fi
run parallel4_migrated 0 django 4 "$VPY" manage.py test --parallel 4

# the extension missing where pg_mint looks for it
q "CREATE DATABASE ${BASE}_noext" >/dev/null
PG_MINT_MAINTENANCE_URL=${BASE}_noext timeout 120 "$VPY" manage.py test </dev/null >"$work/noext.log" 2>&1
rc=$?
if [ $rc != 0 ] && grep -Fq "extension \"pg_mint\" is not installed in database \"${BASE}_noext\"" "$work/noext.log" \
   && grep -Fq "psql -d ${BASE}_noext -c 'CREATE EXTENSION pg_mint'" "$work/noext.log"; then
  ok "[noext] manage.py test fails and names the CREATE EXTENSION line"
else
  fail "[noext] exit $rc, output:"; tail -5 "$work/noext.log"
fi

cd / || true
if [ "$fails" -gt 0 ]; then
  echo "examples_django: $fails failure(s)"
  exit 1
fi
echo "examples_django: all passed"
