"""fault_names.py CONNINFO -- case 7: hostile names.

Every name either works on exactly the intended database (the set of
databases changes by exactly that name, connecting by it reaches the clone)
or fails with a clear SQLSTATE and changes nothing; worker_name never
returns more than 63 bytes, never splits a character, and 1,000 distinct
long (base, worker) pairs give 1,000 distinct names.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import psycopg  # noqa: E402
from mintlib import (guard, Report, call, connect, q, q1, databases, private_dbs,  # noqa: E402
                     quiet, build_template, clone_is_complete)

TPL = "fault_names_tpl"

GOOD = [
    "a'b", 'a"b', "a b", " lead and trail ", "a\\b", "a\\\\b'\"", "50%_off%s%n%%", "Bäse_日本語_🙂",
    "CamelCase", "camelcase", 'x"; DROP DATABASE postgres; --', "new\nline", "tab\there",
    "x" * 63, "é" * 31 + "x", "_mint_new_lookalike",
]
BAD = [
    ("x" * 64, "42622", "64 bytes"), ("é" * 32, "42622", "64 bytes of 2-byte characters"),
    ("y" * 200, "42622", "200 bytes"), ("", "42602", "empty"), (None, "22004", "NULL"),
]


def show(name):
    return repr(name) if name is None or len(name) < 30 else repr(name[:20]) + "...(%d bytes)" % len(name.encode())


def main():
    conninfo = sys.argv[1]
    rep = Report()
    mon = connect(conninfo, appname="fault_monitor")
    build_template(conninfo, TPL, "fp")
    base_set = databases(mon)

    # ---- clone / replace / drop with every good name ---------------------------
    for name in GOOD:
        tag = "name %s" % show(name)
        before = databases(mon)
        o = call(mon, "SELECT mint.clone(%s, %s)", (TPL, name))
        quiet(mon, 10)  # a replaced copy is dropped after clone answers
        after = databases(mon)
        rep.check("%s: clone returns exactly that name and creates exactly that database" % tag,
                  o.ok and o.value == name and set(after) - set(before) == {name} and set(before) <= set(after), o)
        if not o.ok:
            continue
        ok, why = clone_is_complete(conninfo, name)
        rep.check("%s: connecting by that name reaches the complete clone" % tag, ok, why)
        row = q(mon, "SELECT datname::text, kind, state FROM mint.databases WHERE datname = %s", (name,))
        rep.check("%s: mint.databases shows it, spelled the same" % tag, row == [(name, "clone", "ready")], row)
        o = call(mon, "SELECT mint.clone(%s, %s)", (TPL, name))
        quiet(mon, 10)
        again = databases(mon)
        rep.check("%s: replacing it swaps only that database" % tag,
                  o.ok and again.get(name) != after[name] and set(again) - set(before) == {name}
                  and all(again.get(k) == v for k, v in before.items()), o)
        o = call(mon, "SELECT mint.drop(%s)", (name,))
        rep.check("%s: drop removes exactly that database" % tag,
                  o.ok and o.value is True and databases(mon) == before, o)

    # ---- bad names ----------------------------------------------------------------
    for name, state, what in BAD:
        before = databases(mon)
        for fn, sqltext, params in (
                ("clone target", "SELECT mint.clone(%s, %s)", (TPL, name)),
                ("clone template", "SELECT mint.clone(%s, %s)", (name, "fault_names_x")),
                ("drop", "SELECT mint.drop(%s)", (name,)),
                ("template_begin", "SELECT mint.template_begin(%s, 'fp')", (name,)),
                ("template_finish", "SELECT mint.template_finish(%s)", (name,)),
                ("template_abort", "SELECT mint.template_abort(%s)", (name,))):
            o = call(mon, sqltext, params)
            rep.check("%s name (%s) as %s: fails with %s, nothing created or truncated" % (what, show(name), fn, state),
                      o.sqlstate == state and databases(mon) == before, o)
    o = call(mon, "SELECT mint.template_begin(%s, NULL)", ("fault_names_nullfp",))
    rep.check("template_begin with a NULL fingerprint fails with 22004",
              o.sqlstate == "22004" and "fault_names_nullfp" not in databases(mon), o)

    # ---- templates with hostile names --------------------------------------------
    for tname in ["tpl 'quoted' \"both\"", "tpl\\%s日本", "t" * 63, 'x"; DROP DATABASE postgres; --t']:
        tag = "template %s" % show(tname)
        try:
            r = build_template(conninfo, tname, "fp")
        except psycopg.Error as e:
            r = "error: %s" % e
        rep.check("%s: template_begin/build/finish work" % tag, r == "build", r)
        wn = q1(mon, "SELECT mint.worker_name(%s, 'gw0')", (tname,))
        o = call(mon, "SELECT mint.clone(%s, %s)", (tname, wn))
        ok, why = clone_is_complete(conninfo, wn) if o.ok else (False, o)
        rep.check("%s: clone to mint.worker_name(template, 'gw0') = %s works and is complete"
                  % (tag, show(wn)), ok and len(wn.encode()) <= 63, why)
        o1 = call(mon, "SELECT mint.drop(%s)", (wn,))
        o2 = call(mon, "SELECT mint.drop(%s)", (tname,))
        rep.check("%s: clone and template drop cleanly" % tag, o1.value is True and o2.value is True, (o1, o2))
    rep.check("after all names: exactly the databases of the start remain", databases(mon) == base_set,
              sorted(set(databases(mon)) ^ set(base_set)))

    # ---- worker_name ------------------------------------------------------------------
    bases = ["b" * 63, "b" * 64, "b" * 200, "ü" * 31 + "b", "ü" * 32, "ü" * 100, "app_test", "日本語" * 20]
    workers = [None, "", "gw0", "w" * 20, "w" * 21, "w" * 63, "w" * 64, "w" * 200, "wörker_ü", "é" * 40]
    bad = []
    n = 0
    for b in bases:
        for w in workers:
            r1 = q1(mon, "SELECT mint.worker_name(%s, %s)", (b, w))
            r2 = q1(mon, "SELECT mint.worker_name(%s, %s)", (b, w))
            n += 1
            full = b if not w else b + "_" + w
            want_plain = len(full.encode()) <= 63
            if r1 != r2 or len(r1.encode()) > 63 or (want_plain and r1 != full) \
                    or (not want_plain and len(r1.encode()) < 40):
                bad.append((b[:10], w and w[:10], r1))
            if w and len(w.encode()) <= 20 and not want_plain and not r1.endswith("_" + w):
                bad.append(("worker not kept", b[:10], w, r1))
    rep.check("worker_name over %d (base, worker) combinations of 63/64/200 bytes, non-ASCII, NULL and empty: "
              "<= 63 bytes, whole characters, deterministic, unchanged when it fits" % n, not bad, bad[:5])
    for b, w in (("b" * 200, "gw7"), ("ü" * 100, "wörker_ü"), ("日本語" * 20, "w" * 64)):
        wn = q1(mon, "SELECT mint.worker_name(%s, %s)", (b, w))
        o = call(mon, "SELECT mint.clone(%s, %s)", (TPL, wn))
        rep.check("clone to the shortened name %s works" % show(wn),
                  o.ok and o.value == wn and wn in databases(mon), o)
        call(mon, "SELECT mint.drop(%s)", (wn,))
    o = call(mon, "SELECT mint.worker_name(NULL, 'gw0')")
    rep.check("worker_name(NULL, ...) fails with 22004", o.sqlstate == "22004", o)
    o = call(mon, "SELECT mint.worker_name('', 'gw0')")
    rep.check("worker_name('', ...) fails with 42602", o.sqlstate == "42602", o)

    # 1,000 distinct long pairs
    long_bases = ["proj%02d_" % i + ("ü" if i % 2 else "u") * (20 + 9 * i) for i in range(10)]
    long_workers = ["gw%d" % i for i in range(50)] + ["ci-runner-shard-%03d-of-many-workers" % i for i in range(50)]
    pairs = [(b, w) for b in long_bases for w in long_workers]
    rows = q(mon, "SELECT mint.worker_name(b, w)::text FROM unnest(%s::text[], %s::text[]) AS t(b, w)",
             ([p[0] for p in pairs], [p[1] for p in pairs]))
    names = [r[0] for r in rows]
    longest = max(len(x.encode()) for x in names)
    rep.check("1,000 distinct long (base, worker) pairs give %d distinct worker_name results, longest %d bytes"
              % (len(set(names)), longest), len(pairs) == 1000 and len(set(names)) == 1000 and longest <= 63,
              (len(pairs), len(set(names)), longest))
    rep.metric("worker_name_distinct_of_1000", len(set(names)))
    rep.metric("worker_name_max_bytes", longest)

    rep.check("end: no private database, worker or lock", not private_dbs(mon) and quiet(mon, 10), private_dbs(mon))
    mon.close()
    rep.dump()


if __name__ == "__main__":
    guard(main)
