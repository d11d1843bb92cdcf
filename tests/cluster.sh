#!/usr/bin/env bash
# tests/cluster.sh -- a throwaway PostgreSQL cluster for tests, demos and benchmarks.
#
#   tests/cluster.sh start DIR [SETTING=VALUE ...]   initdb + start; writes DIR/env
#   tests/cluster.sh stop DIR                        stop (fast) and keep files
#   tests/cluster.sh destroy DIR                     stop and remove DIR
#   tests/cluster.sh restart DIR [-m immediate]      restart
#
# The server runs as an unprivileged OS user (postgres when called as root),
# listens on a private Unix socket in DIR and on 127.0.0.1 at a free port.
# "source DIR/env" sets PGHOST, PGPORT, PGUSER, PGDATABASE, PGBIN, MINT_PGDIR.
set -euo pipefail

cmd=${1:?usage: cluster.sh start|stop|destroy|restart DIR}
dir=${2:?usage: cluster.sh start|stop|destroy|restart DIR}
shift 2

PGBIN=${PGBIN:-$(pg_config --bindir)}
if [ "$(id -u)" = 0 ]; then
  RUNAS=${MINT_TEST_USER:-postgres}
  as_user() { runuser -u "$RUNAS" -- "$@"; }
else
  RUNAS=$(id -un)
  as_user() { "$@"; }
fi

free_port() {
  /usr/bin/python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" = 0 ] && chown "$RUNAS" "$dir"
  chmod 0755 "$dir"
  port=$(free_port)
  as_user "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "max_worker_processes = 16"
    echo "max_connections = 200"
    echo "max_prepared_transactions = 10"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
    for kv in "$@"; do echo "$kv"; done
  } | as_user tee -a "$dir/data/postgresql.conf" >/dev/null
  as_user "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  cat >"$dir/env" <<ENV
export PGHOST='$dir'
export PGPORT='$port'
export PGUSER=postgres
export PGDATABASE=postgres
export PGBIN='$PGBIN'
export MINT_PGDIR='$dir'
ENV
  chmod 0644 "$dir/env"
  echo "$dir"
  ;;
stop)
  as_user "$PGBIN/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null 2>&1 || true
  ;;
restart)
  as_user "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 "$@" restart >/dev/null
  ;;
destroy)
  as_user "$PGBIN/pg_ctl" -D "$dir/data" -w -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "cluster.sh: unknown command $cmd" >&2; exit 2 ;;
esac
