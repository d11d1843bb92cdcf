#!/usr/bin/python3
"""bench/sizes.py -- clone time against template size, per CREATE DATABASE
strategy (called by bench/clone_sizes).

For each template size it builds a pg_mint template holding one table of
that size, then runs every contender once per round, in a shuffled order:

  mint.clone, pg_mint.strategy = wal_log
  mint.clone, pg_mint.strategy = file_copy   (file_copy_method = copy)
  mint.clone, pg_mint.strategy = clone       (file_copy_method = clone)
  CREATE DATABASE ... STRATEGY file_copy with file_copy_method = clone
                                             (the floor of the clone strategy)

The clock runs around the one SQL round trip; the copy is dropped (untimed)
before the next run, and the disk space the copy took is read from the file
system (statvfs, after a checkpoint and sync) before that drop.  Writes JSON to stdout.
"""
import argparse
import json
import os
import random
import statistics
import time

import psycopg

CONTENDERS = [
    ("wal_log", "mint.clone, strategy wal_log"),
    ("file_copy", "mint.clone, strategy file_copy"),
    ("clone", "mint.clone, strategy clone"),
    ("floor_clone", "CREATE DATABASE, FILE_COPY + file_copy_method clone"),
]


def used_bytes(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def build_template(conn, name, mb):
    # one table of ~mb MB: rows of ~1 kB, below the size at which
    # PostgreSQL compresses or moves values out of line
    rows = mb * 1024 * 1024 // 1100
    b = conn.execute("SELECT mint.template_begin(%s, 'v1')", (name,)).fetchone()[0]
    if b != "build":
        raise SystemExit(f"template_begin({name}) said {b}")
    with psycopg.connect(dbname=name, autocommit=True) as t:
        t.execute(
            "CREATE TABLE data AS SELECT g AS id, repeat(md5(g::text), 30) AS pad "
            "FROM generate_series(1, %s) g" % rows)
        t.execute("VACUUM (FREEZE, ANALYZE) data")
    conn.execute("SELECT mint.template_finish(%s)", (name,))
    conn.execute("CHECKPOINT")
    return conn.execute("SELECT pg_database_size(%s)", (name,)).fetchone()[0]


def run_one(conn, key, tpl, target):
    if key == "floor_clone":
        conn.execute("SET file_copy_method = clone")
        sql = f'CREATE DATABASE "{target}" TEMPLATE "{tpl}" STRATEGY file_copy'
        t0 = time.perf_counter_ns()
        conn.execute(sql)
        t1 = time.perf_counter_ns()
        conn.execute("RESET file_copy_method")
    else:
        conn.execute(f"SET pg_mint.strategy = '{key}'")
        t0 = time.perf_counter_ns()
        conn.execute("SELECT mint.clone(%s, %s)", (tpl, target))
        t1 = time.perf_counter_ns()
    return (t1 - t0) / 1e6


def drop(conn, key, target):
    if key == "floor_clone":
        conn.execute(f'DROP DATABASE "{target}"')
    else:
        conn.execute("SELECT mint.drop(%s)", (target,))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1024", help="template sizes in MB")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mount", required=True, help="the file system the cluster lives on")
    a = ap.parse_args()

    out = {"sizes": []}
    with psycopg.connect(dbname="postgres", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_mint")
        out["server"] = conn.execute("SHOW server_version").fetchone()[0]
        out["settings"] = dict(conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', "
            "'max_wal_size', 'checkpoint_timeout', 'wal_level', 'file_copy_method')").fetchall())
        for mb in [int(s) for s in a.sizes.split(",")]:
            tpl = f"size_{mb}mb"
            size = build_template(conn, tpl, mb)
            times = {k: [] for k, _ in CONTENDERS}
            space = {k: [] for k, _ in CONTENDERS}
            for r in range(a.rounds):
                order = [k for k, _ in CONTENDERS]
                random.shuffle(order)
                for key in order:
                    target = f"c_{key}"
                    conn.execute("CHECKPOINT")
                    before = used_bytes(a.mount)
                    times[key].append(run_one(conn, key, tpl, target))
                    # (untimed) write everything out first: XFS allocates
                    # blocks at write-back, not at write()
                    conn.execute("CHECKPOINT")
                    os.sync()
                    space[key].append(max(0, used_bytes(a.mount) - before))
                    drop(conn, key, target)
            out["sizes"].append({
                "mb": mb, "template_bytes": size,
                "p50_ms": {k: statistics.median(v) for k, v in times.items()},
                "min_ms": {k: min(v) for k, v in times.items()},
                "max_ms": {k: max(v) for k, v in times.items()},
                "space_mb": {k: statistics.median(v) / 1048576 for k, v in space.items()},
                "runs": times,
            })
            conn.execute("SELECT mint.drop(%s)", (tpl,))
    out["contenders"] = CONTENDERS
    out["rounds"] = a.rounds
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
