"""fault_priv.py CONNINFO -- case 6: privileges.

  - fault_a (LOGIN CREATEDB, not superuser) runs the whole flow:
    template_begin / build / finish, clone, replace, rebuild, drop, gc;
  - fault_none (LOGIN, no CREATEDB) gets 42501 and makes nothing;
  - fault_a cannot drop, replace, rebuild or finish fault_b's databases, and
    its gc leaves them alone; nobody but pg_mint can write mint.registry;
  - postgres, template0, template1 and a hand-made database survive every
    pg_mint call aimed at them, by the superuser and by fault_a.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import psycopg  # noqa: E402
from mintlib import (guard, Report, call, connect, q, q1, databases, private_dbs, wait_until,  # noqa: E402
                     registry, quiet, build_template, clone_is_complete)

TPL_A = "fault_priv_tpl_a"
TPL_B = "fault_priv_tpl_b"
HAND = "fault_handmade"
PROTECTED = ["postgres", "template0", "template1", HAND]


def _can_connect(conninfo):
    try:
        connect(conninfo).close()
        return True
    except psycopg.Error:
        return False


def main():
    conninfo = sys.argv[1]
    rep = Report()
    su = connect(conninfo, appname="fault_monitor")
    q(su, "CREATE ROLE fault_a LOGIN CREATEDB")
    q(su, "CREATE ROLE fault_b LOGIN CREATEDB")
    q(su, "CREATE ROLE fault_none LOGIN")
    q(su, "CREATE DATABASE %s" % HAND)
    with connect(conninfo, dbname=HAND) as h:
        q(h, "CREATE TABLE precious (v text)")
        q(h, "INSERT INTO precious VALUES ('keep me')")

    def snapshot():
        return q(su, "SELECT datname, oid::bigint, datistemplate, datallowconn, datdba::regrole::text"
                     " FROM pg_database WHERE datname = ANY(%s) ORDER BY 1", (PROTECTED,))

    protected_before = snapshot()
    a = connect(conninfo, user="fault_a", appname="fault_a")
    b = connect(conninfo, user="fault_b", appname="fault_b")
    none = connect(conninfo, user="fault_none", appname="fault_none")
    rep.check("setup: fault_a is not a superuser",
              q1(a, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False)

    # ---- the whole flow as a CREATEDB role ----------------------------------
    def attempt_build(tpl, fp, role):
        try:
            return build_template(conninfo, tpl, fp, user=role)
        except psycopg.Error as e:
            return "error: %s" % str(e).strip()

    def reconnect():
        # after a server crash (restart_after_crash = on): wait for it, reconnect everyone
        wait_until(lambda: _can_connect(conninfo), 60, 0.2)
        return (connect(conninfo, appname="fault_monitor"), connect(conninfo, user="fault_a", appname="fault_a"),
                connect(conninfo, user="fault_b", appname="fault_b"),
                connect(conninfo, user="fault_none", appname="fault_none"))

    def fallback(tpl, fp, role):
        # build as superuser and hand it over, so the checks that follow still run
        nonlocal su, a, b, none
        su, a, b, none = reconnect()
        build_template(conninfo, tpl, fp)
        q(su, 'ALTER DATABASE "%s" OWNER TO %s' % (tpl, role))

    r = attempt_build(TPL_A, "fp-1", "fault_a")
    rep.check("fault_a: template_begin -> build -> template_finish", r == "build", r)
    if r != "build":
        fallback(TPL_A, "fp-1", "fault_a")
    o = call(a, "SELECT mint.template_begin(%s, %s)", (TPL_A, "fp-1"))
    rep.check("fault_a: template_begin again says 'ready'", o.value == "ready", o)
    o = call(a, "SELECT mint.clone(%s, %s)", (TPL_A, "fault_priv_a1"))
    ok, why = clone_is_complete(conninfo, "fault_priv_a1") if o.ok else (False, o)
    rep.check("fault_a: clone works and is complete", ok, why)
    owner = q1(su, "SELECT datdba::regrole::text FROM pg_database WHERE datname = 'fault_priv_a1'")
    rep.check("fault_a: the clone is owned by fault_a", owner == "fault_a", owner)
    oid1 = databases(su).get("fault_priv_a1")
    o = call(a, "SELECT mint.clone(%s, %s)", (TPL_A, "fault_priv_a1"))
    rep.check("fault_a: replacing its own clone works (new OID)", o.ok and databases(su).get("fault_priv_a1") != oid1, o)
    r = attempt_build(TPL_A, "fp-2", "fault_a")
    rep.check("fault_a: a changed fingerprint rebuilds its template", r == "build", r)
    if r != "build":
        fallback(TPL_A, "fp-2", "fault_a")
    # two versions of TPL_A now (1.2): name the rebuilt one
    o = call(a, "SELECT mint.clone(%s, %s, %s)", (TPL_A, "fault_priv_a2", "fp-2"))
    rep.check("fault_a: clone from the rebuilt template", o.ok, o)
    o = call(a, "SELECT mint.drop(%s)", ("fault_priv_a1",))
    rep.check("fault_a: drop of its clone works", o.ok and o.value is True and "fault_priv_a1" not in databases(su), o)

    # ---- fault_b's databases ------------------------------------------------
    r = attempt_build(TPL_B, "fp", "fault_b")
    rep.check("fault_b: builds its own template", r == "build", r)
    if r != "build":
        fallback(TPL_B, "fp", "fault_b")
    o = call(b, "SELECT mint.clone(%s, %s, %s)", (TPL_A, "fault_priv_b1", "fp-2"))
    rep.check("fault_b: clones fault_a's template (a finished template is open to CREATEDB roles)", o.ok, o)
    b_oids = {k: v for k, v in databases(su).items() if k in ("fault_priv_b1", TPL_B)}

    o = call(a, "SELECT mint.clone(%s, %s)", (TPL_A, "fault_priv_b1"))
    rep.check("fault_a: replacing fault_b's clone fails with 42501", o.sqlstate == "42501", o)
    o = call(a, "SELECT mint.drop(%s)", ("fault_priv_b1",))
    rep.check("fault_a: dropping fault_b's clone fails with 42501", o.sqlstate == "42501", o)
    o = call(a, "SELECT mint.template_begin(%s, %s)", (TPL_B, "other"))
    rep.check("fault_a: rebuilding fault_b's template fails with 42501", o.sqlstate == "42501", o)
    for fn in ("template_finish", "template_abort"):
        o = call(a, "SELECT mint.%s(%%s)" % fn, (TPL_B,))
        rep.check("fault_a: %s on fault_b's template fails with 55000 (not the builder)" % fn,
                  o.sqlstate == "55000", o)
    o = call(a, "SELECT coalesce(string_agg(g::text, ','), '') FROM mint.gc('0') g")
    rep.check("fault_a: gc('0') runs and removes only fault_a's clone",
              o.ok and o.value == "fault_priv_a2", o)
    now = {k: v for k, v in databases(su).items() if k in ("fault_priv_b1", TPL_B)}
    rep.check("fault_b's clone and template survive all of fault_a's calls (same OIDs, complete, ready)",
              now == b_oids and clone_is_complete(conninfo, "fault_priv_b1")[0]
              and registry(su)[TPL_B]["state"] == "ready" and registry(su)["fault_priv_b1"]["state"] == "ready",
              (b_oids, now))

    for stmt in ("INSERT INTO mint.registry (datid, datname, kind, state, server_version, owner)"
                 " VALUES (1, 'postgres', 'clone', 'ready', 150000, 10)",
                 "UPDATE mint.registry SET owner = 0",
                 "DELETE FROM mint.registry"):
        o = call(a, stmt)
        rep.check("fault_a: %s... fails with 42501" % stmt.split(" mint.registry")[0], o.sqlstate == "42501", o)

    # ---- no CREATEDB --------------------------------------------------------
    before = set(databases(su))
    o = call(none, "SELECT mint.template_begin(%s, %s)", ("fault_priv_none_tpl", "fp"))
    rep.check("fault_none: template_begin fails with 42501", o.sqlstate == "42501", o)
    if o.sqlstate == "CONN":
        su, a, b, none = reconnect()
    o = call(none, "SELECT mint.clone(%s, %s)", (TPL_A, "fault_priv_none_c"))
    rep.check("fault_none: clone fails with 42501", o.sqlstate == "42501", o)
    if o.sqlstate == "CONN":
        su, a, b, none = reconnect()
    o = call(none, "SELECT mint.template_begin(%s, %s)", ("fault_priv_none_tpl", "fp"))
    if o.sqlstate == "CONN":
        su, a, b, none = reconnect()
    rep.check("fault_none: nothing made, no lock kept (template_begin fails the same way again)",
              o.sqlstate == "42501" and set(databases(su)) == before and quiet(su, 5), o)

    # ---- protected databases -------------------------------------------------
    expect = {
        "clone": ("55006", "42P04"),
        "drop": ("55006", "55000"),
        "template_begin": ("55006", "42P04"),
        "template_finish": ("55000",),
        "template_abort": ("55000",),
    }
    for who, conn in (("superuser", su), ("fault_a", a)):
        for db in PROTECTED:
            calls = {
                "clone": ("SELECT mint.clone(%s, %s, %s)", (TPL_A, db, "fp-2")),
                "drop": ("SELECT mint.drop(%s)", (db,)),
                "template_begin": ("SELECT mint.template_begin(%s, %s)", (db, "fp")),
                "template_finish": ("SELECT mint.template_finish(%s)", (db,)),
                "template_abort": ("SELECT mint.template_abort(%s)", (db,)),
            }
            for name, (sqltext, params) in calls.items():
                o = call(conn, sqltext, params)
                rep.check("%s: %s aimed at %s fails clearly (%s)" % (who, name, db, o.sqlstate),
                          o.sqlstate in expect[name], o)
        # a protected database used as the template: allowed where PostgreSQL allows it, the source survives
        for src in ("template1", HAND, "postgres"):
            tgt = "fault_priv_from_%s_%s" % (src.replace("fault_", ""), who.replace("fault_", ""))
            o = call(conn, "SELECT mint.clone(%s, %s)", (src, tgt))
            if o.ok:
                call(conn, "SELECT mint.drop(%s)", (tgt,))
            rep.check("%s: clone with %s as the template works or fails clearly (%s)" % (who, src, o.sqlstate),
                      o.ok or o.sqlstate in ("55006", "42501"), o)
        o = call(conn, "SELECT coalesce(string_agg(g::text, ','), '') FROM mint.gc('0') g")
        rep.check("%s: gc('0') removes none of them" % who,
                  o.ok and not set((o.value or "").split(",")) & set(PROTECTED), o)
    rep.check("postgres, template0, template1 and %s are unchanged (OID, flags, owner)" % HAND,
              snapshot() == protected_before, (protected_before, snapshot()))
    with connect(conninfo, dbname=HAND) as h:
        v = q1(h, "SELECT string_agg(v, ',') FROM precious")
    rep.check("%s still holds its data" % HAND, v == "keep me", v)
    reg = registry(su)
    rep.check("no protected database ever entered mint.registry", not set(reg) & set(PROTECTED), reg)

    for c in (a, b, none):
        c.close()
    call(su, "SELECT count(*) FROM mint.gc('0')")
    rep.check("end: no private database, worker or lock", not private_dbs(su) and quiet(su, 10), private_dbs(su))
    su.close()
    rep.dump()


if __name__ == "__main__":
    guard(main)
