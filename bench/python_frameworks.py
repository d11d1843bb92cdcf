"""Time to first test and total time of the Python examples, pg_mint against
each framework's stock path, side by side (alternating, same server, same run).

    python3 bench/python_frameworks.py OUT.json LABEL VENV_PYTHON ROUNDS WORKERS

Needs PGHOST/PGPORT/PGUSER of a server with pg_mint installed.  Cases:

* django / stock: examples/django-shop, `manage.py test --parallel N` with
  ENGINE django.db.backends.postgresql (Django migrates the test database,
  then copies it once per worker with CREATE DATABASE ... TEMPLATE);
* django / pg_mint: the same with ENGINE pg_mint.django (template ready:
  one mint.clone for the test database and one per worker);
* alembic / stock: examples/alembic-asyncpg, `pytest -n N`, every worker
  creates its database and runs `alembic upgrade head` (bench/stock_alembic.py);
* alembic / pg_mint: the same through the pg_mint plugin (template ready).

"first test" is the time from starting the command to the first test's first
event (Django: the first test body; pytest: the session fixture of the first
worker), "total" the command's wall time.  A warm-up run of each pg_mint case
builds its template first (the cold build is reported separately).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

out_path, label, vpy, rounds, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = tempfile.mkdtemp(prefix="pyframeworks.")
for ex in ("django-shop", "alembic-asyncpg"):
    shutil.copytree(os.path.join(here, "examples", ex), os.path.join(work, ex),
                    ignore=shutil.ignore_patterns("__pycache__"))
host, port, user = os.environ["PGHOST"], os.environ["PGPORT"], os.environ.get("PGUSER", "postgres")
base = "pyb%d" % os.getpid()


def case(framework, path):
    env = dict(os.environ)
    for k in ("PG_MINT_EVENTS", "PYTEST_ADDOPTS", "DATABASE_URL"):
        env.pop(k, None)
    if framework == "django":
        cwd = os.path.join(work, "django-shop")
        env["SHOP_DB_NAME"] = base + "_dj"
        env["SHOP_DB_ENGINE"] = "pg_mint.django" if path == "pg_mint" else "django.db.backends.postgresql"
        cmd = [vpy, "manage.py", "test", "--noinput", "--parallel", str(workers)]
    else:
        cwd = os.path.join(work, "alembic-asyncpg")
        env["DATABASE_URL"] = "postgresql+asyncpg://%s@127.0.0.1:%s/%s_al_%s?ssl=disable" % (
            user, port, base, "stock" if path == "stock" else "mint")
        # the tests of the fresh-database fixture need pg_mint: left out of both paths
        cmd = [vpy, "-m", "pytest", "-q", "-n", str(workers), "-k", "not fresh_database"]
        if path == "stock":
            env["PYTHONPATH"] = os.path.join(here, "bench")
            cmd += ["--no-mint", "-p", "stock_alembic"]
    return cwd, env, cmd


def run(framework, path):
    cwd, env, cmd = case(framework, path)
    ev = os.path.join(work, "events.jsonl")
    if os.path.exists(ev):
        os.unlink(ev)
    env["PG_MINT_EVENTS"] = ev
    t0 = time.time()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=900)
    total = time.time() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stdout.decode(errors="replace")[-3000:])
        raise SystemExit("%s/%s failed (exit %d)" % (framework, path, p.returncode))
    evs = [json.loads(line) for line in open(ev)] if os.path.exists(ev) else []
    firsts = [e["t"] for e in evs if e["event"] in ("test", "session")]
    builds = [e for e in evs if e["event"] == "begin" and e["result"] == "build"]
    return {"total": total, "first": (min(firsts) - t0) if firsts else None, "built": bool(builds)}


results = {"label": label, "workers": workers, "rounds": rounds, "cases": {}}
cold = {}
for fw in ("django", "alembic"):
    cold[fw] = run(fw, "pg_mint")   # builds the template
    run(fw, "stock")                # warm-up of the stock path (imports, caches)
for r in range(rounds):
    for fw in ("django", "alembic"):
        for path in (("stock", "pg_mint") if r % 2 == 0 else ("pg_mint", "stock")):
            res = run(fw, path)
            results["cases"].setdefault("%s/%s" % (fw, path), []).append(res)
results["cold"] = cold
subprocess.run(["psql", "-X", "-qAt", "-d", "postgres", "-c",
                "SELECT mint.drop(datname) FROM mint.databases WHERE datname LIKE '%%%s%%' "
                "ORDER BY kind = 'template'" % base], stdout=subprocess.DEVNULL)
subprocess.run(["psql", "-X", "-qAt", "-d", "postgres"], stdout=subprocess.DEVNULL,
               input=("SELECT format('DROP DATABASE %%I WITH (FORCE)', datname) FROM pg_database "
                      "WHERE datname LIKE '%%%s%%' \\gexec\n" % base).encode())
shutil.rmtree(work, ignore_errors=True)
with open(out_path, "w") as f:
    json.dump(results, f, indent=1)
