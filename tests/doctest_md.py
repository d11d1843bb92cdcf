#!/usr/bin/python3
"""tests/doctest_md.py -- docs that cannot rot (run by tests/suites/docs.sh).

    doctest_md.py run [FILE.md ...]   run the code blocks marked `doctest`
    doctest_md.py links               check relative links and #anchors
    doctest_md.py ci                  check the CI recipes (YAML, Dockerfile)
    doctest_md.py commands            pg_mint subcommands and make targets named
                                      in every sh block of the docs exist

A block is runnable when its info string holds the word `doctest`:

    ```sql doctest                    psql -X -v ON_ERROR_STOP=1 -d postgres -f BLOCK
    ```sh doctest                     bash -e BLOCK
    ```python doctest file=a/b.py     written to a/b.py (executable when it starts with #!)

The blocks of one Markdown file run in order, in one scratch directory, with
PATH = scratch/bin (python3 -> /usr/bin/python3), the directory of the
installed pg_mint, /usr/local/bin:/usr/bin:/bin, and DATABASE_URL =
postgresql+asyncpg://$PGUSER@127.0.0.1:$PGPORT/app_test.  Afterwards every
database the file made is dropped (pg_mint's through mint.drop) and the
extension is created again if a block dropped it.  Each check prints
"ok - ..." or "not ok - ..." lines; the exit status is 1 when any failed.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_DIRS = {".git", "tmp_check", "__pycache__", "node_modules", ".pytest_cache", "results", "output_iso"}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
failures = 0


def ok(msg):
    print("ok -", msg)


def bad(msg, detail=""):
    global failures
    failures += 1
    print("not ok -", msg)
    for line in detail.rstrip().splitlines()[-40:]:
        print("    |", line)


def rel(path):
    return os.path.relpath(path, ROOT)


def markdown_files():
    out = []
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith("."))
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".md")]
    return out


def blocks(path):
    """[(line, info words, attrs, text)] of the fenced code blocks of a file."""
    out, cur = [], None
    for n, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
        m = FENCE.match(line)
        if cur is None:
            if m:
                words = m.group(3).split()
                attrs = dict(w.split("=", 1) for w in words[1:] if "=" in w)
                cur = (n, m.group(2), words, attrs, [])
        elif m and m.group(2).startswith(cur[1][0]) and len(m.group(2)) >= len(cur[1]) and not m.group(3).strip():
            out.append((cur[0], cur[2], cur[3], "\n".join(cur[4]) + "\n"))
            cur = None
        else:
            cur[4].append(line)
    if cur is not None:
        bad("%s:%d: code block never closed" % (rel(path), cur[0]))
    return out


# ---- run ---------------------------------------------------------------------
def psql(sql, db="postgres"):
    return subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                          capture_output=True, text=True)


def cleanup(before, had_ext):
    """Drop every database made since `before`; bring the extension back."""
    if psql("SELECT 1 FROM pg_extension WHERE extname = 'pg_mint'").stdout.strip():
        new = psql("SELECT datname FROM mint.databases ORDER BY kind = 'template', datname").stdout.split("\n")
        for d in [d for d in new if d and d not in before]:
            psql("SELECT mint.drop(%s)" % quote_lit(d))
    now = psql("SELECT datname FROM pg_database").stdout.split("\n")
    for d in [d for d in now if d and d not in before]:
        q = '"' + d.replace('"', '""') + '"'
        psql("ALTER DATABASE %s IS_TEMPLATE false ALLOW_CONNECTIONS true" % q)
        r = psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % q)
        if r.returncode:
            bad("could not drop %s after the doc's blocks" % d, r.stderr)
    if had_ext:
        r = psql("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_mint")
        if r.returncode:
            bad("could not create the extension again", r.stderr)


def quote_lit(s):
    return "'" + s.replace("'", "''") + "'"


def run_file(path, env, pgmint_dir):
    runnable = [b for b in blocks(path) if "doctest" in b[1][1:]]
    if not runnable:
        return 0
    scratch = tempfile.mkdtemp(prefix="doctest_%s." % re.sub(r"\W", "_", rel(path)))
    os.makedirs(os.path.join(scratch, "bin"))
    os.symlink("/usr/bin/python3", os.path.join(scratch, "bin", "python3"))
    e = dict(env)
    e["PATH"] = ":".join([os.path.join(scratch, "bin"), pgmint_dir, "/usr/local/bin", "/usr/bin", "/bin"])
    before = set(psql("SELECT datname FROM pg_database").stdout.split("\n"))
    had_ext = bool(psql("SELECT 1 FROM pg_extension WHERE extname = 'pg_mint'").stdout.strip())
    n_ok = 0
    try:
        for line, words, attrs, text in runnable:
            lang = words[0] if words else ""
            where = "%s:%d (%s)" % (rel(path), line, " ".join(words))
            if "file" in attrs:
                dest = os.path.normpath(os.path.join(scratch, attrs["file"]))
                if not dest.startswith(scratch + os.sep):
                    bad(where + ": file= leaves the scratch directory")
                    return 1
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "w") as fh:
                    fh.write(text)
                if text.startswith("#!"):
                    os.chmod(dest, 0o755)
                n_ok += 1
                continue
            bf = os.path.join(scratch, ".block")
            with open(bf, "w") as fh:
                fh.write(text)
            if lang in ("sql", "psql"):
                cmd = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-f", bf]
            elif lang in ("sh", "bash", "shell"):
                cmd = ["bash", "-e", bf]
            else:
                bad(where + ": a doctest block of language %r needs file=PATH" % lang)
                return 1
            try:
                r = subprocess.run(cmd, cwd=scratch, env=e, capture_output=True, text=True, timeout=300)
            except subprocess.TimeoutExpired:
                bad(where + ": still running after 300 s")
                return 1
            if r.returncode != 0:
                bad(where + ": exit status %d" % r.returncode, r.stdout + r.stderr)
                return 1    # later blocks of the file build on this one
            n_ok += 1
        ok("%s: %d doctest block(s) ran" % (rel(path), n_ok))
        return 0
    finally:
        cleanup(before, had_ext)
        shutil.rmtree(scratch, ignore_errors=True)


def cmd_run(files):
    pg_mint = shutil.which("pg_mint")
    if not pg_mint:
        bad("pg_mint is not on PATH: the doc tests need the installed CLI")
        return
    for v in ("PGHOST", "PGPORT"):
        if not os.environ.get(v):
            bad("%s is not set: the doc tests need a server" % v)
            return
    env = dict(os.environ)
    env["PGDATABASE"] = "postgres"
    env["DATABASE_URL"] = "postgresql+asyncpg://%s@127.0.0.1:%s/app_test" % (
        os.environ.get("PGUSER", "postgres"), os.environ["PGPORT"])
    for k in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PG_MINT_RUN", "PG_MINT_DSN"):
        env.pop(k, None)
    files = [os.path.abspath(f) for f in files] or markdown_files()
    total = 0
    for f in files:
        total += sum(1 for b in blocks(f) if "doctest" in b[1][1:])
        run_file(f, env, os.path.dirname(pg_mint))
    if total == 0:
        bad("no doctest blocks found")


# ---- links -------------------------------------------------------------------
def strip_code(text):
    out, inside, fence = [], False, ""
    for line in text.split("\n"):
        m = FENCE.match(line)
        if m and not inside:
            inside, fence = True, m.group(2)
            out.append("")
        elif m and inside and m.group(2).startswith(fence[0]) and len(m.group(2)) >= len(fence) and not m.group(3).strip():
            inside = False
            out.append("")
        else:
            out.append("" if inside else re.sub(r"`[^`]*`", "", line))
    return out


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"<[^>]+>", "", s)
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    inside, fence = False, ""
    for line in open(path, encoding="utf-8").read().split("\n"):
        m = FENCE.match(line)
        if m and not inside:
            inside, fence = True, m.group(2)
            continue
        if m and inside and m.group(2).startswith(fence[0]) and not m.group(3).strip():
            inside = False
            continue
        if inside:
            continue
        h = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if h:
            s = slug(h.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            out.add(s if n == 0 else "%s-%d" % (s, n))
    return out


def cmd_links():
    n = 0
    for f in markdown_files():
        for lineno, line in enumerate(strip_code(open(f, encoding="utf-8").read()), 1):
            for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", line):
                if re.match(r"^[a-z]+:", target):
                    continue
                n += 1
                path, _, frag = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
                where = "%s:%d: link %s" % (rel(f), lineno, target)
                if not os.path.exists(dest):
                    bad(where + ": %s does not exist" % rel(dest))
                elif frag:
                    if os.path.isdir(dest) or not dest.endswith(".md"):
                        bad(where + ": an anchor into something that is not a Markdown file")
                    elif frag not in anchors(dest):
                        bad(where + ": no heading with anchor #%s in %s" % (frag, rel(dest)))
    ok("%d relative links and anchors checked" % n)


# ---- commands ----------------------------------------------------------------
_help = None


def pg_mint_commands():
    global _help
    if _help is None:
        r = subprocess.run(["pg_mint", "--help"], capture_output=True, text=True)
        txt = r.stdout.split("Commands:", 1)[-1].split("\n\n", 1)[0]
        _help = set(re.findall(r"^  ([a-z]+)\b", txt, re.M))
        if not _help:
            bad("pg_mint --help lists no commands", r.stdout + r.stderr)
    return _help


def make_targets(mk):
    t = set()
    for line in open(mk):
        m = re.match(r"^([^\s#:=][^:=]*?)\s*::?(?!=)", line)
        if m:
            t.update(m.group(1).split())
    return t


PG_MINT_OPTS_WITH_VALUE = {"-h", "--host", "-p", "--port", "-U", "--username", "-d", "--dbname",
                           "--maintenance-db", "--dsn"}


def simple_commands(script):
    script = re.sub(r"\\\n", " ", script)
    for line in script.split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            lex = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
            lex.whitespace_split = True
            lex.commenters = "#"
            toks = list(lex)
        except ValueError:
            continue
        cur = []
        for t in toks + [";"]:
            if t in (";", "&&", "||", "|", "&", "(", ")", ";;") or t in ("do", "then", "else", "{", "}"):
                if cur:
                    yield cur
                cur = []
            else:
                cur.append(t)


def check_command(words, cwd, where, check_paths):
    """Check one simple command; returns a new cwd for `cd`."""
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]          # VAR=value prefixes
    if words and words[0] in ("sudo", "eval", "exec", "time", "timeout", "env"):
        words = words[1:]
        if words and re.match(r"^\d", words[0]):
            words = words[1:]
    if not words:
        return cwd
    w0 = words[0]
    if w0 == "cd" and len(words) > 1 and "$" not in words[1]:
        d = os.path.normpath(os.path.join(cwd, words[1]))
        if check_paths and not os.path.isdir(d):
            bad("%s: cd %s: no such directory" % (where, words[1]))
        return d
    if w0 == "make":
        mdir, targets, i = ROOT, [], 1
        while i < len(words):
            a = words[i]
            if a == "-C" and i + 1 < len(words):
                mdir = os.path.join(cwd if check_paths else ROOT, words[i + 1]); i += 2; continue
            if a.startswith("-") or "=" in a:
                i += 1; continue
            targets.append(a); i += 1
        mk = os.path.join(mdir, "Makefile")
        if check_paths and not os.path.isfile(mk):
            bad("%s: make: no Makefile in %s" % (where, rel(mdir)))
        elif os.path.isfile(mk):
            known = make_targets(mk)
            for t in targets:
                if t not in known and "$" not in t:
                    bad("%s: make %s: no such target in %s" % (where, t, rel(mk)))
        return cwd
    if w0 == "pg_mint" or w0.endswith("/pg_mint"):
        i = 1
        while i < len(words) and words[i].startswith("-"):
            if words[i] in ("--help", "-?", "--version", "-V"):
                return cwd
            i += 2 if words[i] in PG_MINT_OPTS_WITH_VALUE else 1
        if i < len(words) and "$" not in words[i] and words[i] not in pg_mint_commands():
            bad("%s: pg_mint %s: no such command in pg_mint --help" % (where, words[i]))
        if check_paths and "--fingerprint-files" in words:
            j = words.index("--fingerprint-files") + 1
            while j < len(words) and not re.match(r"^(-|[0-9]*[<>])", words[j]):
                if "$" not in words[j] and not os.path.exists(os.path.join(cwd, words[j])):
                    bad("%s: --fingerprint-files %s: no such file in %s" % (where, words[j], rel(cwd)))
                j += 1
        return cwd
    if not check_paths:
        return cwd
    if re.match(r"^python[0-9.]*$", w0) and "-m" in words:
        mod = words[words.index("-m") + 1] if words.index("-m") + 1 < len(words) else ""
        top = os.path.join(cwd, mod.split(".")[0])
        if mod and (os.path.isdir(top) or os.path.isfile(top + ".py")):
            p = os.path.join(cwd, *mod.split("."))
            if not (os.path.isfile(p + ".py") or os.path.isfile(os.path.join(p, "__main__.py"))):
                bad("%s: python -m %s: no such module in %s" % (where, mod, rel(cwd)))
        return cwd
    if w0 == "docker" and len(words) > 1 and words[1] == "build":
        if "-f" in words:
            f = words[words.index("-f") + 1]
            if not os.path.isfile(os.path.join(ROOT, f)):
                bad("%s: docker build -f %s: no such Dockerfile" % (where, f))
            else:
                check_dockerfile(os.path.join(ROOT, f), ROOT, where)
        return cwd
    # any other argument that names a path under the repository
    for a in words[1:]:
        if re.match(r"^[\w.-]+(/[\w.*-]+)+/?$", a) and not a.startswith("/"):
            first = a.split("/")[0]
            base = cwd if os.path.exists(os.path.join(cwd, first)) else ROOT if os.path.exists(os.path.join(ROOT, first)) else None
            if base and "*" not in a and not os.path.exists(os.path.join(base, a)):
                bad("%s: %s names %s, which does not exist" % (where, w0, a))
    return cwd


def check_script(script, cwd, where, check_paths=True):
    for words in simple_commands(script):
        cwd = check_command(words, cwd, where, check_paths)


def cmd_commands():
    n = 0
    for f in markdown_files():
        for line, words, attrs, text in blocks(f):
            if words and words[0] in ("sh", "bash", "shell") and "file" not in attrs:
                n += 1
                check_script(text, ROOT, "%s:%d" % (rel(f), line), check_paths=False)
    ok("pg_mint commands and make targets of %d sh blocks checked" % n)


# ---- ci ----------------------------------------------------------------------
def check_dockerfile(path, context, where):
    text = open(path).read()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    if not froms:
        bad("%s: %s has no FROM" % (where, rel(path)))
    for src in re.findall(r"^COPY\s+(?:--\S+\s+)*(\S+)\s+\S+", text, re.M):
        if not os.path.exists(os.path.join(context, src)):
            bad("%s: %s: COPY %s: no such file in the build context" % (where, rel(path), src))
    if not re.search(r"make\b.*\binstall\b", text):
        bad("%s: %s does not install pg_mint" % (where, rel(path)))


def glob_exists(pattern, base):
    import glob
    return bool(glob.glob(os.path.join(base, pattern.replace("**", "*")), recursive=True)) or \
        os.path.exists(os.path.join(base, pattern.split("*")[0].rstrip("/")))


def check_github(path, wf):
    where = rel(path)
    jobs = wf.get("jobs") or {}
    built = {}
    for name, job in jobs.items():
        for step in job.get("steps") or []:
            uses, with_ = step.get("uses", ""), step.get("with") or {}
            if uses.startswith("docker/build-push-action"):
                f = with_.get("file", "Dockerfile")
                ctx = os.path.join(ROOT, with_.get("context", "."))
                if not os.path.isfile(os.path.join(ROOT, f)):
                    bad("%s: job %s builds %s, which does not exist" % (where, name, f))
                else:
                    check_dockerfile(os.path.join(ROOT, f), ctx, where)
                    built[name] = f
            for m in re.findall(r"hashFiles\(([^)]*)\)", "\n".join(str(v) for v in step.values())):
                for g in re.findall(r"'([^']+)'", m):
                    if not glob_exists(g, ROOT):
                        bad("%s: hashFiles('%s') matches nothing" % (where, g))
    for name, job in jobs.items():
        for sname, svc in (job.get("services") or {}).items():
            image = svc.get("image", "") if isinstance(svc, dict) else str(svc)
            m = re.match(r"^\$\{\{\s*needs\.([\w-]+)\.outputs\.\w+\s*\}\}$", image)
            if m:
                if m.group(1) not in built or m.group(1) not in (job.get("needs") or []) and m.group(1) != job.get("needs"):
                    bad("%s: job %s's service %s uses an image job %s does not build (or is not needed)"
                        % (where, name, sname, m.group(1)))
            elif re.match(r"^postgres(:|$)", image):
                bad("%s: job %s's service %s is %s, which has no pg_mint in it" % (where, name, sname, image))
        wd = ((job.get("defaults") or {}).get("run") or {}).get("working-directory", ".")
        for i, step in enumerate(job.get("steps") or []):
            if "run" in step:
                cwd = os.path.join(ROOT, step.get("working-directory", wd))
                if not os.path.isdir(cwd):
                    bad("%s: job %s: working-directory %s does not exist" % (where, name, rel(cwd)))
                    continue
                check_script(step["run"], cwd, "%s: job %s, step %s" % (where, name, step.get("name", i)))
    ok("%s: GitHub Actions workflow, %d job(s), checked" % (where, len(jobs)))


def check_gitlab(path, doc):
    where = rel(path)
    variables = {k: str(v) for k, v in (doc.get("variables") or {}).items()}
    jobs = {k: v for k, v in doc.items() if isinstance(v, dict) and ("script" in v)}
    built = set()
    for name, job in jobs.items():
        for part in ("before_script", "script", "after_script"):
            s = job.get(part) or []
            script = "\n".join(s) if isinstance(s, list) else str(s)
            check_script(script, ROOT, "%s: job %s, %s" % (where, name, part))
            for m in re.finditer(r"docker build\b.*?-t\s+\"?\$\{?(\w+)", script):
                built.add(m.group(1))
        for rule in job.get("rules") or []:
            for g in rule.get("changes") or []:
                if not glob_exists(g, ROOT):
                    bad("%s: job %s: rules changes %s matches nothing" % (where, name, g))
    for name, job in jobs.items():
        for svc in job.get("services") or []:
            image = svc.get("name", "") if isinstance(svc, dict) else str(svc)
            m = re.match(r"^\$\{?(\w+)\}?$", image)
            if m:
                if m.group(1) not in built or m.group(1) not in variables:
                    bad("%s: job %s's service %s is not built by a job of this file" % (where, name, image))
            elif re.match(r"^postgres(:|$)", image):
                bad("%s: job %s's service %s has no pg_mint in it" % (where, name, image))
    ok("%s: GitLab CI pipeline, %d job(s), checked" % (where, len(jobs)))


def check_compose(path, doc):
    where = rel(path)
    for name, svc in (doc.get("services") or {}).items():
        b = svc.get("build")
        if b:
            ctx = os.path.normpath(os.path.join(os.path.dirname(path), b if isinstance(b, str) else b.get("context", ".")))
            df = os.path.join(ctx, "Dockerfile" if isinstance(b, str) else b.get("dockerfile", "Dockerfile"))
            if not os.path.isdir(ctx):
                bad("%s: service %s: build context %s does not exist" % (where, name, rel(ctx)))
            elif not os.path.isfile(df):
                bad("%s: service %s: Dockerfile %s does not exist" % (where, name, rel(df)))
            else:
                check_dockerfile(df, ctx, where)
        elif re.match(r"^postgres(:|$)", str(svc.get("image", ""))):
            bad("%s: service %s is %s, which has no pg_mint in it" % (where, name, svc.get("image")))
    ok("%s: docker-compose file checked" % where)


def check_exporter_queries(path, doc):
    """a query file of prometheus-postgres-exporter (--extend.query-path);
    tests/suites/prometheus.sh runs it against a server"""
    where = rel(path)
    for name, q in doc.items():
        usages = [list(m.values())[0].get("usage") for m in q["metrics"]
                  if isinstance(m, dict) and len(m) == 1 and isinstance(list(m.values())[0], dict)]
        if len(usages) != len(q["metrics"]) or not all(u in ("LABEL", "GAUGE", "COUNTER", "MAPPEDMETRIC", "DURATION", "DISCARD") for u in usages):
            bad("%s: %s: every metric needs one column with a known usage" % (where, name))
        elif "GAUGE" not in usages and "COUNTER" not in usages:
            bad("%s: %s: no GAUGE or COUNTER column" % (where, name))
    ok("%s: prometheus-postgres-exporter query file, %d queries, checked" % (where, len(doc)))


def cmd_ci():
    import yaml
    found = 0
    for d, dirs, files in os.walk(os.path.join(ROOT, "examples")):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS]
        for f in sorted(files):
            if not f.endswith((".yml", ".yaml")):
                continue
            path = os.path.join(d, f)
            try:
                doc = yaml.safe_load(open(path))
            except yaml.YAMLError as e:
                bad("%s: not valid YAML" % rel(path), str(e))
                continue
            found += 1
            if not isinstance(doc, dict):
                bad("%s: not a mapping" % rel(path))
            elif "jobs" in doc:
                check_github(path, doc)
            elif any(isinstance(v, dict) and "script" in v for v in doc.values()):
                check_gitlab(path, doc)
            elif "services" in doc:
                check_compose(path, doc)
            elif doc and all(isinstance(v, dict) and "query" in v and "metrics" in v for v in doc.values()):
                check_exporter_queries(path, doc)
            else:
                bad("%s: neither a GitHub Actions workflow, a GitLab CI pipeline nor a compose file" % rel(path))
    if found < 3:
        bad("expected the GitHub Actions, GitLab CI and compose files under examples/, found %d YAML files" % found)


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    cmd, rest = args[0], args[1:]
    if cmd == "run":
        cmd_run(rest)
    elif cmd == "links":
        cmd_links()
    elif cmd == "ci":
        cmd_ci()
    elif cmd == "commands":
        cmd_commands()
    else:
        print("unknown command %s (try --help)" % cmd, file=sys.stderr)
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
