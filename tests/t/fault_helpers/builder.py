"""builder.py -- a template-building client that the fault suite SIGKILLs.

    builder.py CONNINFO TEMPLATE FINGERPRINT POINT APPNAME

Behaves like a test suite's conftest: template_begin over a connection to
the maintenance database, schema over a connection to the template, then
template_finish.  It announces each stage on stdout and, on reaching POINT,
stops there (blocked) until it is killed:

  during_begin   prints SENDING, then calls template_begin (killed while it runs)
  after_begin    right after template_begin returned 'build'
  mid_schema     half the schema created, inside an open transaction running
                 a long statement on the template
  before_finish  whole schema committed, template connection still open,
                 template_finish not yet called

Never exits on its own before 120 s (the suite kills it long before).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mintlib  # noqa: E402


def say(*words):
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def park():
    time.sleep(120)
    say("NOT-KILLED")
    sys.exit(3)


def main():
    conninfo, tpl, fp, point, appname = sys.argv[1:6]
    admin = mintlib.connect(conninfo, appname=appname)
    say("PID", mintlib.q1(admin, "SELECT pg_backend_pid()"))
    if point == "during_begin":
        say("SENDING")
    r = mintlib.q1(admin, "SELECT mint.template_begin(%s, %s)", (tpl, fp))
    say("BEGUN", r)
    if r != "build":
        say("UNEXPECTED", r)
        sys.exit(2)
    if point in ("after_begin", "during_begin"):
        say("AT", point)
        park()
    tc = mintlib.connect(conninfo, dbname=tpl, autocommit=False, appname=appname)
    say("TPLPID", mintlib.q1(tc, "SELECT pg_backend_pid()"))
    if point == "mid_schema":
        with tc.cursor() as cur:
            cur.execute("CREATE TABLE account (id bigserial PRIMARY KEY, email text)")
            cur.execute("CREATE TABLE half_done (id int REFERENCES account(id))")
            say("AT", point)
            cur.execute("SELECT pg_sleep(120)")
        park()
    mintlib.create_schema(tc, 20)
    tc.commit()
    say("AT", point)
    park()


if __name__ == "__main__":
    main()
