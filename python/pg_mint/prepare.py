"""What the pytest plugin does in each worker, independent of pytest:
name the worker's database, point the environment at it, make sure the
template is built for the current fingerprint, clone it.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .build import run_build
from .core import Mint, MintError
from .fingerprint import FingerprintError, compose, expand_inputs, fingerprint_files
from .urls import UrlError, database_of, is_conninfo, is_url, parse_url, redact, to_libpq, with_database

__all__ = ["Settings", "Prepared", "prepare", "maintenance_for", "Events"]


@dataclass
class Settings:
    url: str                          # the base URL (any driver), conninfo or database name
    url_env: str = "DATABASE_URL"     # where it came from (messages)
    rewrite_env: List[str] = field(default_factory=list)   # more variables to point at the worker db
    template: Optional[str] = None    # default: <base>_tpl
    fingerprint: List[str] = field(default_factory=list)   # absolute paths (already expanded)
    fingerprint_extra: List[str] = field(default_factory=list)
    build: Optional[str] = None
    maintenance: str = "postgres"     # database name, or a URL / conninfo
    pool: Optional[int] = None
    run: Optional[str] = None
    prepared: bool = False            # a CI step made the databases with the CLI
    events: Optional[str] = None      # JSON lines, one per step
    cwd: str = "."                    # where the build command runs
    failure_file: Optional[str] = None  # shared by the workers of one run: a failed build's message

    @property
    def base(self) -> str:
        try:
            db = database_of(self.url)
        except UrlError as e:
            raise MintError("cannot read %s (%s): %s" % (self.url_env, redact(self.url), e)) from None
        if not db:
            raise MintError("%s (%s) names no database" % (self.url_env, redact(self.url)),
                            hint="The database in the URL is the base name of the workers' databases "
                                 "(app_test -> app_test_gw0, ...).")
        return db

    @property
    def template_name(self) -> str:
        return self.template or self.base + "_tpl"

    def compute_fingerprint(self) -> str:
        try:
            files = fingerprint_files(self.fingerprint) if self.fingerprint else None
        except FingerprintError as e:
            raise MintError("cannot compute the fingerprint: %s" % e) from None
        return compose(self.fingerprint_extra, files)


def expand_fingerprint(patterns: List[str], base: str) -> List[str]:
    try:
        return expand_inputs(patterns, base)
    except FingerprintError as e:
        raise MintError(str(e), hint="mint_fingerprint lists paths or globs of the files that "
                                     "define the schema (migrations, models), relative to %s" % base) from None


def maintenance_for(url: str, maintenance: str) -> "tuple[str, str]":
    """(libpq conninfo, display) of the maintenance database."""
    try:
        if is_url(maintenance) or is_conninfo(maintenance):
            return to_libpq(maintenance)[0], maintenance
        conninfo = to_libpq(url, maintenance)[0]
    except UrlError as e:
        raise MintError("cannot read the connection string %s: %s" % (redact(url), e)) from None
    if is_url(url):
        u = parse_url(url)
        display = with_database(url, maintenance)
        if u.driver:
            display = "postgresql" + display[len(u.scheme) + 1 + len(u.driver):]
        return conninfo, display
    return conninfo, with_database(url, maintenance) if is_conninfo(url) else "database %s" % maintenance


def pg_env(url: str) -> Dict[str, str]:
    """PGHOST, PGPORT, PGUSER, PGPASSWORD for a build command, from the URL."""
    if not is_url(url):
        return {}
    u = parse_url(url)
    env: Dict[str, str] = {}
    for var, val in (("PGHOST", u.hosts), ("PGPORT", u.ports), ("PGUSER", u.user), ("PGPASSWORD", u.password)):
        if val:
            env[var] = val
    for k, v in u.params:
        if k == "host":
            env["PGHOST"] = v
        elif k == "port":
            env["PGPORT"] = v
    return env


class Events:
    def __init__(self, path: Optional[str]) -> None:
        self.path = path

    def __call__(self, **fields: object) -> None:
        if not self.path:
            return
        fields.update(pid=os.getpid(), t=time.time())
        with open(self.path, "a") as f:
            f.write(json.dumps(fields) + "\n")


@dataclass
class Prepared:
    worker: str
    database: str
    url: str
    template: str
    fingerprint: str
    result: str                 # 'build', 'ready' or 'prepared'
    begin_seconds: float = 0.0
    build_seconds: float = 0.0
    clone_seconds: float = 0.0
    urls: Dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        fp = self.fingerprint[:12] + ("..." if len(self.fingerprint) > 12 else "") if self.fingerprint else "(none)"
        if self.result == "prepared":
            return "%s: %s prepared by the CLI (PG_MINT_PREPARED), template %s" % (
                self.worker or "main", self.database, self.template)
        what = "built in %.2f s" % self.build_seconds if self.result == "build" else \
            "ready (waited %.2f s)" % self.begin_seconds
        return "%s: %s cloned from %s in %.3f s; template fingerprint %s, %s" % (
            self.worker or "main", self.database, self.template, self.clone_seconds, fp, what)

    def as_dict(self) -> Dict[str, object]:
        return dict(self.__dict__)


def rewrite_environ(settings: Settings, database: str) -> Dict[str, str]:
    """Point settings.url_env and settings.rewrite_env at database: each
    variable's own value keeps its driver and options; an unset one gets the
    base URL rewritten.  Returns the new values."""
    out: Dict[str, str] = {}
    for name in [settings.url_env] + [n for n in settings.rewrite_env if n != settings.url_env]:
        cur = os.environ.get(name)
        source = cur if cur else settings.url
        try:
            out[name] = with_database(source, database)
        except UrlError as e:
            raise MintError("cannot rewrite %s (%s): %s" % (name, redact(source), e)) from None
    os.environ.update(out)
    return out


def _read(path: Optional[str]) -> Optional[str]:
    if not path:
        return None
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def prepare(settings: Settings, worker: str, mint: Optional[Mint] = None) -> "tuple[Prepared, Mint]":
    """Everything a worker does before its tests are imported."""
    events = Events(settings.events)
    base = settings.base
    template = settings.template_name
    fingerprint = settings.compute_fingerprint()
    conninfo, display = maintenance_for(settings.url, settings.maintenance)
    mint = mint or Mint(conninfo, display=display, run=settings.run)
    mint.connect()
    mint.check_extension()
    database = mint.worker_name(base, worker, settings.run)
    # first the environment, so that anything imported from here on (even
    # by the build) sees this worker's database
    urls = rewrite_environ(settings, database)
    url = with_database(settings.url, database)
    info = Prepared(worker, database, url, template, fingerprint, "prepared", urls=urls)
    if settings.prepared:
        if not mint.exists(database):
            raise MintError('PG_MINT_PREPARED is set but database "%s" does not exist' % database,
                            hint="The CI step must clone it first: pg_mint clone %s --base %s%s"
                                 % (template, base, " --worker " + worker if worker else ""))
        events(event="prepared", worker=worker, database=database)
        return info, mint
    mint.check_createdb()
    t0 = time.monotonic()
    state = mint.template_begin(template, fingerprint)
    info.begin_seconds = time.monotonic() - t0
    info.result = state
    events(event="begin", worker=worker, template=template, fingerprint=fingerprint, result=state,
           seconds=info.begin_seconds)
    if state == "build":
        try:
            failed = _read(settings.failure_file)
            if failed:  # another worker of this run built and failed: don't build again
                raise MintError(failed)
            if settings.build:
                events(event="build", worker=worker, template=template, build=settings.build)
                env = {n: with_database(os.environ.get(n) or settings.url, template)
                       for n in [settings.url_env] + settings.rewrite_env}
                env["PGDATABASE"] = template
                for k, v in pg_env(settings.url).items():
                    env.setdefault(k, v)
                info.build_seconds, _ = run_build(settings.build, template,
                                                  with_database(settings.url, template), env, settings.cwd)
        except BaseException as e:
            if settings.failure_file and isinstance(e, MintError):
                try:  # O_EXCL: the first failure only, and never through a planted link
                    fd = os.open(settings.failure_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "w") as f:
                        f.write(str(e)[len("pg_mint: "):])
                except OSError:
                    pass
            try:
                mint.template_abort(template)
            finally:
                events(event="abort", worker=worker, template=template)
            raise
        built = time.time()
        mint.template_finish(template)
        events(event="finish", worker=worker, template=template, fingerprint=fingerprint, built=built)
    if settings.pool is not None and state == "build":
        mint.set_pool(template, settings.pool)
    t0 = time.monotonic()
    mint.clone(template, database, fingerprint)
    info.clone_seconds = time.monotonic() - t0
    events(event="clone", worker=worker, template=template, database=database, fingerprint=fingerprint,
           run=settings.run, seconds=info.clone_seconds)
    return info, mint
