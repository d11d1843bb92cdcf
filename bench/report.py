#!/usr/bin/python3
"""bench/report.py -- turn bench/driver.py's per-configuration JSON files into
results.md, results.json and chart.dat (called by bench/run).

    report.py --out DIR [--commit SHA] [--elapsed S] CONFIG.json ...
    report.py --out DIR --results DIR/results.json     # re-render an earlier run

Ratios are always to the floor (`CREATE DATABASE … TEMPLATE … STRATEGY
wal_log` on an open connection) of the same configuration and template size.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import PEERS, ROWS, SUITE_METHODS, pct  # noqa: E402

FLOOR = "floor_wal_log"
ISSUE_SIZES = (14, 22, 85)          # issue 12, point 1
CONFIG_TITLE = {"defaults": "server defaults", "test": "typical test settings"}
CHART_COLS = [  # key in chart.dat, title
    ("floor_wal_log", "floor CREATE wal_log"),
    ("floor_file_copy", "floor CREATE file_copy"),
    ("mint", "mint.clone replacing"),
    ("mint_newconn", "mint.clone, new connection"),
    ("pool", "mint.clone pool hit"),
    ("pgtestdb", "pgtestdb"),
    ("django", "Django 3.2 _clone_test_db"),
    ("recipe", "client-side recipe"),
    ("suite_pool", "suite wait p50, warm pool"),
    ("suite_mint", "suite wait p50, mint.clone per test"),
]


def fmt(x):
    if x is None:
        return "–"
    return f"{x:.2f}" if x < 10 else f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def settings_line(f):
    return (f"fsync={f['fsync']}, synchronous_commit={f['synchronous_commit']}, "
            f"full_page_writes={f['full_page_writes']}, wal_level={f['wal_level']}, "
            f"shared_buffers={f['shared_buffers']}, max_wal_size={f['max_wal_size']}, "
            f"checkpoint_timeout={f['checkpoint_timeout']}, max_worker_processes={f['max_worker_processes']}"
            + (f", pg_mint.strategy={f['pg_mint.strategy']}" if "pg_mint.strategy" in f else "")
            + (f", pg_mint.pool_strategy={f['pg_mint.pool_strategy']}" if "pg_mint.pool_strategy" in f else ""))


def config_name(cfg):
    f = cfg["facts"]
    return f"`{f['config']}` ({CONFIG_TITLE.get(f['config'], f['config'])}: fsync={f['fsync']}, " \
           f"synchronous_commit={f['synchronous_commit']})"


def row_of(sz, key):
    return next((r for r in sz["rows"] if r["key"] == key), None)


def p50_of(sz, key):
    r = row_of(sz, key)
    return r["stats"]["p50"] if r and r.get("stats") and not r.get("skipped") else None


def suite_of(sz, method):
    return next((s for s in sz.get("suites", []) if s["method"] == method), None)


def size_head(sz):
    return f"{sz['size_mb']:g} MB" if sz["size_mb"] < 1000 else f"{sz['size_mb'] / 1024:.2f} GB"


def report(cfgs, commit, elapsed):
    lines = []
    w = lines.append
    f0 = cfgs[0]["facts"]
    w("# pg_mint benchmark results")
    w("")
    w(f"- date: {f0['started']} to {cfgs[-1]['facts'].get('finished', '?')}"
      f" ({f0['mode']} run{f', {elapsed / 60:.0f} min' if elapsed else ''})")
    w(f"- commit measured: {commit}")
    if f0["mode"] != "full":
        w(f"- options ({f0['mode']} run, not the full one): "
          + ", ".join(f"{k}={v}" for k, v in f0.get("options", {}).items()))
    w(f"- server: {f0['server_version']}")
    w(f"- pg_mint: {f0.get('pg_mint', 'not installed')}; client: {f0['driver']}, "
      f"connecting over TCP to 127.0.0.1")
    w(f"- machine: {f0['cores']} cores{', ' + f0['cpu'] if 'cpu' in f0 else ''}; {f0['machine']}")
    for c in cfgs:
        w(f"- configuration {config_name(c)}: {settings_line(c['facts'])}")
    sizes0 = cfgs[0]["sizes"]
    w("- templates (pg_database_size, as built in the first configuration): "
      + "; ".join(f"{size_head(s)} for the ≈{s['label']} target ({s['schema']}, built in {s['build_ms'] / 1000:.1f} s)"
                  for s in sizes0))
    w("- rounds: " + ", ".join(f"{size_head(s)}: {s['rounds']} interleaved shuffled rounds"
                                 f"{' after 1 unrecorded' if s.get('warmup_rounds') else ''}" for s in sizes0))
    if any(s.get("suites") for s in sizes0):
        def counts(s):
            pool = [f"{su['workers']} × {su['tests_per_worker']}" for su in s["suites"] if su["method"] == "pool"]
            other = sorted({f"{su['workers']} × {su['tests_per_worker']}" for su in s["suites"] if su["method"] != "pool"})
            return (f"{size_head(s)}: " + (f"warm pool of {s['spares']} spares {pool[0]}, " if pool else "")
                    + f"other methods {', '.join(other)}")
        w("- per-test suite (workers × tests): " + "; ".join(counts(s) for s in sizes0 if s.get("suites")))
    w("")
    w("Times in milliseconds. Ratio = p50 / p50 of the floor (`CREATE DATABASE x TEMPLATE t STRATEGY wal_log` "
      "on an already open connection) of the same configuration and template size. Clients connect over TCP.")
    w("")

    for c in cfgs:
        sizes = c["sizes"]
        w(f"## Configuration {config_name(c)}")
        w("")
        w("Ratio to the floor (p50 in ms):")
        w("")
        w("| row | " + " | ".join(size_head(s) for s in sizes) + " |")
        w("| --- |" + " ---: |" * len(sizes))
        for key, label, _ in ROWS:
            cells = []
            for s in sizes:
                r = row_of(s, key)
                fl = p50_of(s, FLOOR)
                if not r or r.get("skipped") or not r.get("stats"):
                    cells.append("skipped" if r and r.get("skipped") else "–")
                    continue
                p = r["stats"]["p50"]
                bad = f", {r['stats']['failures']} failed" if r["stats"]["failures"] else ""
                cells.append(f"{p / fl:.2f}× ({fmt(p)}{bad})" if fl else f"– ({fmt(p)})")
            w(f"| {label} | " + " | ".join(cells) + " |")
        w("")
        w("<details><summary>p50 / p95 / max per row and size</summary>")
        w("")
        w("| row | size | runs | failed | p50 | p95 | max | ratio |")
        w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for key, label, _ in ROWS:
            for s in sizes:
                r = row_of(s, key)
                if not r or not r.get("stats"):
                    w(f"| {label} | {size_head(s)} | 0 | – | – | – | – | skipped: {(r or {}).get('skipped') or 'no runs'} |")
                    continue
                st, fl = r["stats"], p50_of(s, FLOOR)
                failed = str(st["failures"])
                if r["errors"]:
                    failed += " (" + ", ".join(sorted({e[1] for e in r["errors"]})) + ")"
                ratio = f"{st['p50'] / fl:.2f}×" if fl else "–"
                w(f"| {label} | {size_head(s)} | {st['runs']} | {failed} | {fmt(st['p50'])} | {fmt(st['p95'])} | "
                  f"{fmt(st['max'])} | {ratio} |")
        w("")
        w("</details>")
        w("")
        if any(s.get("suites") for s in sizes):
            w("Per-test suite: each worker thread runs its tests one after another; a test takes a fresh "
              "database with the method (the wait), connects to it, runs 3 INSERTs and 2 SELECTs, sleeps 50 ms "
              "(the test's own work), disconnects. Wall = until the last worker is done.")
            w("")
            w("| method | size | workers × tests | wall s | wait p50 | p95 | max | waits > floor p50 | "
              "pool hits / misses | refill spares/s | errors |")
            w("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for m, label in SUITE_METHODS:
                for s in sizes:
                    su = suite_of(s, m)
                    if not su:
                        continue
                    st, fl = su["stats"] or {}, p50_of(s, FLOOR)
                    over = sum(1 for x in su["waits_ms"] if fl and x > fl)
                    pool = (f"{su['hits']} / {su['misses']} ({su['hit_rate'] * 100:.0f}%)"
                            if su.get("hit_rate") is not None else "–")
                    refill = fmt(su.get("refill_per_s")) if "refill_per_s" in su else "–"
                    wt = f"{su['workers']} × {su['tests_per_worker']}"
                    if su.get("stopped_at_deadline"):
                        wt += f" (deadline: {su['tests_run']} ran)"
                    w(f"| {label} | {size_head(s)} | {wt} | {su['wall_s']:.1f} | "
                      f"{fmt(st.get('p50'))} | {fmt(st.get('p95'))} | {fmt(st.get('max'))} | "
                      f"{over} of {len(su['waits_ms'])} | {pool} | {refill} | {len(su['errors'])} |")
            w("")
            w("Refill throughput = spares the pool finished during the suite (hits + change in ready spares) "
              "/ suite wall time. A suite that reaches the run's deadline (`--suite-deadline`) starts no new "
              "test; its row says how many ran.")
            w("")

    # ---- cost growth --------------------------------------------------------------
    w("## Cost growth: p50 vs template size")
    w("")
    for c in cfgs:
        sizes = c["sizes"]
        w(f"Configuration {config_name(c)}, ms:")
        w("")
        w("| | " + " | ".join(size_head(s) for s in sizes) + " |")
        w("| --- |" + " ---: |" * len(sizes))
        for key, label in (("floor_wal_log", "floor CREATE … TEMPLATE (wal_log)"),
                           ("floor_file_copy", "floor CREATE … TEMPLATE (file_copy)"),
                           ("mint", "`mint.clone` replacing a worker's database"),
                           ("pool", "`mint.clone`, pool hit")):
            w(f"| {label} | " + " | ".join(fmt(p50_of(s, key)) for s in sizes) + " |")
        for m, label in SUITE_METHODS:
            if not any(suite_of(s, m) for s in sizes):
                continue
            cells = []
            for s in sizes:
                su = suite_of(s, m)
                cells.append(f"{fmt((su['stats'] or {}).get('p50'))} (wall {su['wall_s']:.1f} s)" if su else "–")
            w(f"| suite wait per test: {label} | " + " | ".join(cells) + " |")
        w("")

    # ---- targets ---------------------------------------------------------------------
    w("## Targets (issue 12)")
    w("")
    w("| target | configuration | size | measured | verdict |")
    w("| --- | --- | --- | --- | --- |")
    for c in cfgs:
        for s in c["sizes"]:
            if s["target_mb"] not in ISSUE_SIZES:
                continue
            m, fl = p50_of(s, "mint"), p50_of(s, FLOOR)
            if m is None or fl is None:
                w(f"| 1. `mint.clone` replacing ≤ 1.15× floor p50 | {c['facts']['config']} | {size_head(s)} | not measured | – |")
                continue
            w(f"| 1. `mint.clone` replacing ≤ 1.15× floor p50 | {c['facts']['config']} | {size_head(s)} | "
              f"{m / fl:.2f}× ({fmt(m)} vs {fmt(fl)} ms) | {'met' if m <= 1.15 * fl else 'not met'} |")
    for c in cfgs:
        for s in c["sizes"]:
            su = suite_of(s, "pool")
            fl = p50_of(s, FLOOR)
            if not su or fl is None or not su["waits_ms"]:
                continue
            worst = max(su["waits_ms"])
            over = sum(1 for x in su["waits_ms"] if x > fl)
            ok = worst <= fl and not su["errors"]
            ran = f" ({su['tests_run']} ran before the deadline)" if su.get("stopped_at_deadline") else ""
            w(f"| 2. pool of {su['spares']}: suite of {su['workers']} × {su['tests_per_worker']}{ran} never waits longer "
              f"than the floor | {c['facts']['config']} | {size_head(s)} | max wait {fmt(worst)} ms vs floor p50 "
              f"{fmt(fl)} ms; {over} of {len(su['waits_ms'])} waits over; hit rate "
              f"{(su['hit_rate'] or 0) * 100:.0f}%; refill {fmt(su['refill_per_s'])} spares/s | "
              f"{'met' if ok else 'not met'} |")
    w("")
    w("Why a target is not met, measured, and what would meet it: [analysis.md](analysis.md) "
      "(written for the run it names); where the time of `mint.clone` goes, phase by phase: "
      "[phase_trace.md](phase_trace.md) (`bench/phase_trace`).")
    w("")

    # ---- notes ---------------------------------------------------------------------------
    w("## Notes")
    w("")
    w("What each row sends (peers reproduce their upstream code's statements):")
    w("")
    for key, label, note in ROWS:
        extra = ""
        for c in cfgs:
            for s in c["sizes"]:
                r = row_of(s, key)
                if r and r.get("extra"):
                    extra += f" [{c['facts']['config']} {size_head(s)}: " + ", ".join(
                        f"{k}={v}" for k, v in r["extra"].items()) + "]"
        w(f"- {label}: {note}.{extra}")
    for k, p in PEERS.items():
        w(f"- {k}: {p['source']}: {p['statements']}")
    for c in cfgs:
        for n in c["notes"]:
            w(f"- {c['facts']['config']}: {n}")
        for s in c["sizes"]:
            if s.get("pool_skip"):
                w(f"- {c['facts']['config']} {size_head(s)}: {s['pool_skip']}")
            for su in s.get("suites", []):
                for e in su["errors"][:3]:
                    w(f"- {c['facts']['config']} {size_head(s)} suite {su['method']}: {e}")
    w("")
    return "\n".join(lines) + "\n"


def chart_dat(cfgs):
    out = ["# p50 ms by template size; one block per configuration (gnuplot index); NaN = not measured",
           "# columns: size_mb " + " ".join(k for k, _ in CHART_COLS)]
    for c in cfgs:
        out.append(f"# {config_name(c)}")
        for s in c["sizes"]:
            vals = []
            for k, _ in CHART_COLS:
                if k.startswith("suite_"):
                    su = suite_of(s, k[6:])
                    v = (su["stats"] or {}).get("p50") if su else None
                else:
                    v = p50_of(s, k)
                vals.append("NaN" if v is None else f"{v:.3f}")
            out.append(f"{s['size_mb']} " + " ".join(vals))
        out.append("")
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--elapsed", type=int)
    ap.add_argument("--results", help="re-render from an existing results.json instead of the driver's files")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    if a.results:
        old = json.load(open(a.results))
        cfgs = old["configs"]
        a.commit = old.get("commit", a.commit) if a.commit == "unknown" else a.commit
        a.elapsed = a.elapsed or old.get("elapsed_s")
    else:
        cfgs = [json.load(open(p)) for p in a.files]
    os.makedirs(a.out, exist_ok=True)
    md = report(cfgs, a.commit, a.elapsed)
    with open(os.path.join(a.out, "results.md"), "w") as fh:
        fh.write(md)
    with open(os.path.join(a.out, "chart.dat"), "w") as fh:
        fh.write(chart_dat(cfgs))
    with open(os.path.join(a.out, "results.json"), "w") as fh:
        json.dump({"commit": a.commit, "elapsed_s": a.elapsed, "peers": PEERS,
                   "ratio_floor": FLOOR, "configs": cfgs}, fh, indent=1)


if __name__ == "__main__":
    main()
