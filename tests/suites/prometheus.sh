#!/usr/bin/env bash
# tests/suites/prometheus.sh -- examples/prometheus/queries.yaml with Debian's
# prometheus-postgres-exporter: started on loopback (a free port) against the
# test cluster, /metrics scraped until the pg_mint series appear (deadline),
# with the values pg_mint's views hold.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
suite_setup prom

EXPORTER=/usr/bin/prometheus-postgres-exporter
if [ ! -x "$EXPORTER" ]; then echo "FAIL: $EXPORTER missing (apt-get install prometheus-postgres-exporter)"; exit 1; fi

# a template, a clone with a lease, a refused copy (quota), so every series has data
coproc B { psql -XAtq -d postgres; }
echo "SELECT mint.template_begin('$TPL', 'v1');" >&"${B[1]}"; read -r r <&"${B[0]}"
[ "$r" = build ] || fail "template_begin: $r"
psql -XAtq -d "$TPL" -c "CREATE TABLE t (x int)" || fail "schema"
echo "SELECT mint.template_finish('$TPL'); SELECT 'done';" >&"${B[1]}"; read -r r <&"${B[0]}"
exec {B[1]}>&-; wait "$B_PID" 2>/dev/null
q "SELECT mint.clone('$TPL', '${BASE}_c1', ttl => '1 hour')" >/dev/null || fail "clone"
q "CREATE ROLE ${BASE}_ci LOGIN CREATEDB" || fail "role"
q "SELECT mint.set_quota('${BASE}_ci', 0, NULL)" >/dev/null || fail "set_quota"
psql -XAtq -U "${BASE}_ci" -d postgres -c "SELECT mint.clone('$TPL', '${BASE}_c2')" 2>/dev/null && fail "quota 0 did not refuse"

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres sslmode=disable" \
  "$EXPORTER" --web.listen-address="127.0.0.1:$port" --extend.query-path="$here/examples/prometheus/queries.yaml" \
  --disable-settings-metrics >"$work/exporter.log" 2>&1 &
exp_pid=$!
trap 'kill $exp_pid 2>/dev/null; wait $exp_pid 2>/dev/null; q "DROP ROLE IF EXISTS ${BASE}_ci" >/dev/null 2>&1; rm -rf "$work"' EXIT

# scrape until the series are there (deadline 30 s)
deadline=$((SECONDS + 30)); got=""
while [ $SECONDS -lt $deadline ]; do
  if curl -fsS "http://127.0.0.1:$port/metrics" -o "$work/metrics" 2>/dev/null \
     && grep -q "^pg_mint_stats_clones{.*template=\"$TPL\"" "$work/metrics"; then got=1; break; fi
  kill -0 $exp_pid 2>/dev/null || break
  $PY -c 'import time; time.sleep(0.2)'
done
if [ -z "$got" ]; then
  fail "no pg_mint series in /metrics"; tail -20 "$work/exporter.log"; grep -i "pg_mint\|error" "$work/metrics" 2>/dev/null | head
else
  ok "exporter on 127.0.0.1:$port serves pg_mint series"
fi

metric() {  # NAME LABELS -> value
  grep -E "^$1\{[^}]*$2[^}]*\} " "$work/metrics" | awk '{print $2}' | head -1
}
[ "$(metric pg_mint_stats_clones "template=\"$TPL\"")" = 1 ] && ok "pg_mint_stats_clones = 1" || fail "pg_mint_stats_clones: $(metric pg_mint_stats_clones "template=\"$TPL\"")"
[ "$(metric pg_mint_stats_builds "template=\"$TPL\"")" = 1 ] && ok "pg_mint_stats_builds = 1" || fail "pg_mint_stats_builds"
[ "$(metric pg_mint_stats_quota_refusals "template=\"$TPL\"")" = 1 ] && ok "pg_mint_stats_quota_refusals = 1" || fail "quota_refusals: $(metric pg_mint_stats_quota_refusals "template=\"$TPL\"")"
held=$(metric pg_mint_stats_bytes_held "template=\"$TPL\"")
want=$(q "SELECT bytes_held FROM mint.stats WHERE template = '$TPL'")
[ -n "$held" ] && $PY -c "import sys; sys.exit(0 if float('$held') == float('$want') else 1)" \
  && ok "pg_mint_stats_bytes_held = mint.stats ($want)" || fail "bytes_held $held, mint.stats says $want"
[ "$(metric pg_mint_quota_max_databases "role=\"${BASE}_ci\"")" = 0 ] && ok "pg_mint_quota_max_databases{role} = 0" || fail "pg_mint_quota_max_databases"
[ -n "$(metric pg_mint_activity_copies 'state="waiting"')" ] && ok "pg_mint_activity_copies{state=waiting} present" || fail "pg_mint_activity_copies"
[ -n "$(metric pg_mint_databases_count 'kind="clone"')" ] && ok "pg_mint_databases_count{kind=clone} present" || fail "pg_mint_databases_count"
grep -q "^pg_exporter_last_scrape_error 0" "$work/metrics" && ok "no scrape error" || { fail "scrape error"; grep -i "error" "$work/exporter.log" | tail -5; }

q "SELECT mint.drop('${BASE}_c1'), mint.drop('$TPL'), mint.set_quota('${BASE}_ci', NULL, NULL)" >/dev/null
echo "$fails failures"
[ "$fails" = 0 ]
