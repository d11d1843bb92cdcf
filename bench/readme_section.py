#!/usr/bin/python3
"""bench/readme_section.py -- print the "performance" section of bench/README.md,
built from bench/results/results.json (the latest `make bench` run).

    /usr/bin/python3 bench/readme_section.py [--results FILE]           # print it
    /usr/bin/python3 bench/readme_section.py [--results FILE] --write [--file MD]
        # replace the text between <!-- SECTION:performance --> and
        # <!-- /SECTION:performance --> in MD (default bench/README.md)
    /usr/bin/python3 bench/readme_section.py [--results FILE] --check [--file MD]
        # exit 1 when MD's section differs from what FILE renders

The top-level README.md quotes a few of these numbers in its introduction,
each with its settings and commit; the full tables live in bench/README.md.

Every number is printed under the heading of the server configuration it was
measured on (server defaults with fsync on, or test settings with fsync off).
The tables are bench/report.py's, rendered from the same JSON.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import report  # noqa: E402


def sections(md):
    """{heading: body} of the '## ' sections of results.md, plus the preamble under ''."""
    out, cur = {"": []}, ""
    for line in md.splitlines():
        if line.startswith("## "):
            cur = line[3:]
            out[cur] = []
        else:
            out[cur].append(line)
    return out


def strip_details(lines):
    keep, inside = [], False
    for l in lines:
        if l.startswith("<details>"):
            inside = True
        elif l.startswith("</details>"):
            inside = False
        elif not inside:
            keep.append(l)
    return keep


def squeeze(lines):
    out = []
    for l in lines:
        if l.strip() == "" and (not out or out[-1].strip() == ""):
            continue
        out.append(l)
    while out and not out[-1].strip():
        out.pop()
    return out


def body(results):
    d = json.load(open(results))
    cfgs = d["configs"]
    md = report.report(cfgs, d.get("commit", "unknown"), d.get("elapsed_s"))
    sec = sections(md)
    f0 = cfgs[0]["facts"]
    out = []
    w = out.append
    w("How long a test worker waits for a fresh database, measured side by side by `make bench` "
      "(`bench/run`, results in [`results/results.md`](results/results.md)). Two server configurations, each on its own "
      "throwaway cluster, one after the other: **server defaults** (`fsync=on`, `synchronous_commit=on`, "
      "as PostgreSQL ships) and **test settings** (`fsync=off`, `synchronous_commit=off`, as test servers "
      "often run). Every number below sits under the configuration it was measured on; ratios are to the "
      "floor of the same configuration and template size.")
    w("")
    w("Templates: the 50-table schema of `bench/gen_schema.py` (indexes, foreign keys, views, a trigger, "
      "seed rows scaled to the size), and a bare one-table template for the smallest size (an empty "
      "PostgreSQL 15 database is already about 7 MB). Clients connect over TCP. Rows run interleaved: each "
      "round runs every row once in a shuffled order; the clock runs around what a worker waits for, and "
      "pg_mint's background work (dropping a replaced copy, refilling a pool) is awaited untimed between runs.")
    w("")
    w("- **floor**: `CREATE DATABASE x TEMPLATE t` on an already open connection (`STRATEGY wal_log`, the "
      "default, and `file_copy`); the DROP of x untimed;")
    w("- **`mint.clone` replacing a worker's database**: the same open connection calls "
      "`SELECT mint.clone(t, 'w0')` again and again, as a test worker that keeps its connection; and the first "
      "call on a new connection;")
    w("- **pool hit**: `mint.set_pool(t, N)`, the pool full, then `mint.clone`;")
    w("- **peers**, each sending exactly the statements of its upstream code:")
    for k, p in d.get("peers", report.PEERS).items():
        w(f"  - {k} ({p['source']}): {p['statements']}")
    w("- **per-test suite**: worker threads × tests; each test takes a fresh database with the method, "
      "connects, runs a few statements and 50 ms of client-side work, and releases it; per method: wall "
      "time, the wait per test, pool hit rate and refill throughput.")
    w("")
    w("Measured run:")
    w("")
    out.extend(l for l in sec[""] if l.startswith("- "))
    w("")
    for name in sec:
        if name.startswith("Configuration "):
            w(f"#### {name}")
            w("")
            out.extend(squeeze(strip_details(sec[name])))
            w("")
    for name in ("Cost growth: p50 vs template size", "Targets (issue 12)"):
        if name in sec:
            w(f"#### {name}")
            w("")
            # links in results.md are relative to bench/results/
            out.extend(re.sub(r"\]\((?![a-z]+:|/|#)", "](results/", line) for line in squeeze(sec[name]))
            w("")
    w("![p50 vs template size per method, one panel per configuration](results/chart.png)")
    w("")
    w("These numbers come from a 2-core machine shared with other jobs: read the ratios, which "
      "interleaving keeps fair, rather than the absolute times.")
    w("")
    w("**Reproduce**: `make && sudo make install && make bench` (the full run takes about "
      f"{'45' if f0.get('mode') != 'full' or not d.get('elapsed_s') else round(d['elapsed_s'] / 60)} minutes "
      "on 2 cores). `bash bench/run --help` lists the options: `--quick` (the smoke run of `make bench-check`), "
      "`--configs defaults,test`, `--sizes MB,...`, `--rounds N`, `--rounds-big N`, `--suite-workers N`, "
      "`--suite-tests N`, `--suite-tests-big N`, `--spares N`, `--spares-big N`, `--no-suite`, `--out DIR`, "
      "and `name=value` server settings for both clusters.")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=os.path.join(HERE, "results", "results.json"))
    ap.add_argument("--file", default=os.path.join(HERE, "README.md"),
                    help="the Markdown file holding the section (default bench/README.md)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    a = ap.parse_args()
    text = body(a.results)
    if not (a.write or a.check):
        sys.stdout.write(text)
        return
    path = a.file
    readme = open(path).read()
    pat = re.compile(r"(<!-- SECTION:performance -->\n)(.*?)(<!-- /SECTION:performance -->)", re.S)
    found = pat.findall(readme)
    if len(found) != 1:
        sys.exit("%s: expected exactly one performance section, found %d" % (path, len(found)))
    if a.check:
        if found[0][1] != text:
            sys.exit("%s: the performance section differs from what %s renders; "
                     "run bench/readme_section.py --write" % (path, a.results))
        return
    readme = pat.sub(lambda m: m.group(1) + text + m.group(3), readme)
    with open(path, "w") as fh:
        fh.write(readme)


if __name__ == "__main__":
    main()
