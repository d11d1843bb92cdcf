"""pytest plugin: every xdist worker (or the single process of a run without
xdist) gets its own fresh database, cloned from a template that is built once
per fingerprint.  Registered through the ``pytest11`` entry point, so
installing the package is enough; it acts once configured (``mint_build``,
``mint_template`` or ``mint_fingerprint`` in the ini file, on the command
line or in the environment), and only then.

The work happens in ``pytest_load_initial_conftests``, before any conftest or
test module is imported, so an application that builds its engine from
``DATABASE_URL`` at import time already sees the worker's database.
"""
from __future__ import annotations

import os
import shlex
import tempfile
from typing import Any, Dict, Iterator, List, Optional

import pytest

from .core import Mint, MintError, run_identity
from .prepare import Prepared, Settings, expand_fingerprint, maintenance_for, prepare
from .urls import redact, to_libpq, with_database

_STATE_ATTR = "_pg_mint_state"

INI = {
    "mint_url_env": ("string", "DATABASE_URL",
                     "pg_mint: environment variable holding the base URL (default DATABASE_URL)"),
    "mint_url": ("string", None, "pg_mint: the base URL when the variable of mint_url_env is unset"),
    "mint_rewrite_env": ("args", [], "pg_mint: more environment variables to point at the worker's database"),
    "mint_template": ("string", None, "pg_mint: template name (default: <base database>_tpl)"),
    "mint_fingerprint": ("args", [], "pg_mint: paths and globs of the files that define the schema"),
    "mint_fingerprint_extra": ("args", [], "pg_mint: extra strings that are part of the fingerprint"),
    "mint_build": ("string", None, "pg_mint: shell command, or module:function(url), that builds the schema"),
    "mint_maintenance": ("string", None, "pg_mint: database (name or URL) where the extension is installed"),
    "mint_pool": ("string", None, "pg_mint: warm pool size for the template (mint.set_pool)"),
    "mint_events": ("string", None, "pg_mint: append one JSON line per step to this file"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, (kind, default, help_) in INI.items():
        parser.addini(name, help_, type=kind, default=default)  # type: ignore[arg-type]
    g = parser.getgroup("pg_mint", "pg_mint: a fresh database per worker")
    g.addoption("--mint", action="store_true", dest="mint", default=None,
                help="use pg_mint even if nothing is configured (template <base>_tpl, no build)")
    g.addoption("--no-mint", action="store_false", dest="mint", help="do not use pg_mint in this run")
    g.addoption("--mint-url", dest="mint_url", help="base URL (default: $DATABASE_URL)")
    g.addoption("--mint-url-env", dest="mint_url_env", help="variable holding the base URL")
    g.addoption("--mint-rewrite-env", dest="mint_rewrite_env", action="append",
                help="another environment variable to point at the worker's database")
    g.addoption("--mint-template", dest="mint_template", help="template name")
    g.addoption("--mint-fingerprint", dest="mint_fingerprint", action="append",
                help="path or glob of schema files (repeatable)")
    g.addoption("--mint-fingerprint-extra", dest="mint_fingerprint_extra", action="append",
                help="extra string for the fingerprint (repeatable)")
    g.addoption("--mint-build", dest="mint_build", help="shell command or module:function that builds the schema")
    g.addoption("--mint-maintenance", dest="mint_maintenance",
                help="maintenance database name or URL (default postgres)")
    g.addoption("--mint-pool", dest="mint_pool", help="warm pool size (mint.set_pool)")
    g.addoption("--mint-run", dest="mint_run", help="run identity (default: $PG_MINT_RUN or a CI variable)")
    g.addoption("--mint-info", action="store_true", default=False, dest="mint_info",
                help="print template, fingerprint, build/ready and clone time per worker")


# ---- configuration -----------------------------------------------------------

ENV = {
    "mint_url_env": "PG_MINT_URL_ENV",
    "mint_rewrite_env": "PG_MINT_REWRITE_ENV",
    "mint_template": "PG_MINT_TEMPLATE",
    "mint_fingerprint": "PG_MINT_FINGERPRINT",
    "mint_fingerprint_extra": "PG_MINT_FINGERPRINT_EXTRA",
    "mint_build": "PG_MINT_BUILD",
    "mint_maintenance": "PG_MINT_MAINTENANCE_URL",
    "mint_pool": "PG_MINT_POOL",
    "mint_events": "PG_MINT_EVENTS",
}


class _Source:
    """command line > environment > ini file."""

    def __init__(self, config: pytest.Config, ns: Any) -> None:
        self.config, self.ns = config, ns
        self.ini_dir = str(config.inipath.parent) if config.inipath else str(config.rootpath)

    def get(self, name: str) -> "tuple[Any, str]":
        v = getattr(self.ns, name, None)
        if v not in (None, [], ""):
            return v, "cli"
        env = ENV.get(name)
        if env and os.environ.get(env):
            raw = os.environ[env]
            return (shlex.split(raw) if INI.get(name, ("string",))[0] == "args" else raw), "env"
        if name == "mint_maintenance" and os.environ.get("PG_MINT_DSN"):
            return os.environ["PG_MINT_DSN"], "env"
        if name in INI:
            v = self.config.getini(name)
            if v not in (None, [], ""):
                return v, "ini"
        return None, ""


def _is_controller(ns: Any) -> bool:
    """The xdist process that only hands out tests: -n N (N > 0), -n auto, --tx."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return False
    n = getattr(ns, "numprocesses", None)
    if getattr(ns, "tx", None):
        return True
    if n in (None, 0, "0"):
        return False
    return getattr(ns, "dist", "load") != "no" or bool(n)


def settings_from(config: pytest.Config, ns: Any) -> Optional[Settings]:
    """The Settings of this run, or None when pg_mint is not wanted here."""
    src = _Source(config, ns)
    enabled = getattr(ns, "mint", None)
    prepared = os.environ.get("PG_MINT_PREPARED", "") not in ("", "0")
    if enabled is False:
        return None
    configured = any(src.get(n)[0] for n in ("mint_build", "mint_template", "mint_fingerprint",
                                             "mint_fingerprint_extra"))
    if not (enabled or configured or prepared):
        return None
    url_env, _ = src.get("mint_url_env")
    url_env = url_env or "DATABASE_URL"
    url = getattr(ns, "mint_url", None) or os.environ.get(url_env) or config.getini("mint_url")
    if not url:
        raise MintError("%s is not set: pg_mint needs the base URL of the test databases" % url_env,
                        hint="export %s=postgresql://USER@HOST/app_test (any driver: postgresql+asyncpg://, "
                             "...), or set mint_url_env / mint_url" % url_env)
    fp, fp_src = src.get("mint_fingerprint")
    fp_base = src.ini_dir if fp_src == "ini" else os.getcwd()
    extra, _ = src.get("mint_fingerprint_extra")
    pool, _ = src.get("mint_pool")
    if pool not in (None, ""):
        try:
            pool = int(pool)
        except ValueError:
            raise MintError("mint_pool must be a number of spares (0-100), not %r" % pool) from None
    rewrite, _ = src.get("mint_rewrite_env")
    return Settings(
        url=url, url_env=url_env if not getattr(ns, "mint_url", None) else "--mint-url",
        rewrite_env=list(rewrite or []),
        template=src.get("mint_template")[0] or None,
        fingerprint=expand_fingerprint(list(fp or []), fp_base),
        fingerprint_extra=list(extra or []),
        build=src.get("mint_build")[0] or None,
        maintenance=src.get("mint_maintenance")[0] or "postgres",
        pool=pool if pool not in (None, "") else None,
        run=run_identity(getattr(ns, "mint_run", None)),
        prepared=prepared,
        events=src.get("mint_events")[0] or None,
        cwd=src.ini_dir,
    )


class State:
    def __init__(self) -> None:
        self.settings: Optional[Settings] = None
        self.controller = False
        self.info: Optional[Prepared] = None
        self.mint: Optional[Mint] = None
        self.error: Optional[MintError] = None
        self.workers: List[Dict[str, Any]] = []
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "")


def _state(config: pytest.Config) -> State:
    st = getattr(config, _STATE_ATTR, None)
    if st is None:
        st = State()
        setattr(config, _STATE_ATTR, st)
    return st


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: List[str]) -> None:
    st = _state(early_config)
    ns = early_config.known_args_namespace
    # --help / --version print and exit: nothing to prepare
    if getattr(ns, "help", False) or getattr(ns, "version", False):
        return
    try:
        st.settings = settings_from(early_config, ns)
        if st.settings is None:
            return
        if _is_controller(ns):
            st.controller = True
            return
        uid = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        if st.worker and uid:
            st.settings.failure_file = os.path.join(
                tempfile.gettempdir(), "pg_mint-%d-%s.failed" % (os.getuid(), uid))
        st.info, st.mint = prepare(st.settings, st.worker)
    except MintError as e:
        if not st.worker:
            raise pytest.UsageError(str(e)) from None
        # an xdist worker: fail its collection with the message instead of
        # crashing (xdist would restart it, and build again); workers that
        # fail alike report the same text, which xdist shows once
        st.error = e


@pytest.hookimpl(tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Optional[pytest.CollectReport]:
    st = _state(collector.config)
    if st.error is not None and isinstance(collector, pytest.Session):
        return pytest.CollectReport(collector.nodeid, "failed", str(st.error), [])
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mint: uses pg_mint's databases")


def pytest_report_header(config: pytest.Config) -> Optional[List[str]]:
    st = _state(config)
    if st.settings is None:
        return None
    if st.controller:
        return ["pg_mint: every xdist worker clones %s into its own database (%s per worker)%s"
                % (st.settings.template_name, st.settings.base + "_<worker>",
                   "" if config.getoption("mint_info") else "; --mint-info for details")]
    if st.info is not None:
        return ["pg_mint: " + st.info.summary()]
    return None


def pytest_sessionfinish(session: pytest.Session) -> None:
    st = _state(session.config)
    if st.controller:  # the workers' shared note of a failed build
        dsession = session.config.pluginmanager.getplugin("dsession")
        uid = getattr(getattr(dsession, "nodemanager", None), "testrunuid", None)
        if uid:
            try:
                os.unlink(os.path.join(tempfile.gettempdir(), "pg_mint-%d-%s.failed" % (os.getuid(), uid)))
            except OSError:
                pass
    if st.info is not None and hasattr(session.config, "workeroutput"):
        session.config.workeroutput["pg_mint"] = st.info.as_dict()  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    st = _state(node.config)
    out = getattr(node, "workeroutput", None) or {}
    if "pg_mint" in out:
        st.workers.append(out["pg_mint"])


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    st = _state(config)
    if not config.getoption("mint_info") or st.settings is None:
        return
    tr = terminalreporter
    tr.section("pg_mint")
    s = st.settings
    tr.write_line("template %s, fingerprint %s, maintenance %s" % (
        s.template_name, (st.info.fingerprint if st.info else None) or
        (st.workers[0]["fingerprint"] if st.workers else "") or "(none)",
        redact(maintenance_for(s.url, s.maintenance)[1])))
    infos = [Prepared(**w) for w in sorted(st.workers, key=lambda w: _worker_key(w["worker"]))]
    if st.info is not None:
        infos.append(st.info)
    for i in infos:
        tr.write_line(i.summary())


def _worker_key(w: str) -> Any:
    digits = "".join(c for c in w if c.isdigit())
    return (int(digits) if digits else -1, w)


# ---- fixtures -------------------------------------------------------------------

class Database(str):
    """A database made for a test: str() is its URL (in the base URL's driver
    form); .name is its name, .dsn a libpq connection string for it."""

    name: str
    url: str
    dsn: str

    def __new__(cls, name: str, url: str, dsn: str) -> "Database":
        self = super().__new__(cls, url)
        self.name, self.url, self.dsn = name, url, dsn
        return self


class MintApi:
    """The ``mint`` fixture: this worker's database, and more clones on demand."""

    def __init__(self, state: State) -> None:
        assert state.settings is not None and state.info is not None
        self._st = state
        self.settings: Settings = state.settings
        self.template: str = state.info.template
        # the version this run uses; None when a CI step prepared the
        # databases and no fingerprint inputs are configured here
        self.fingerprint: Optional[str] = state.info.fingerprint or (
            None if state.info.result == "prepared" else "")
        self.database: str = state.info.database
        self.url: str = state.info.url
        self.worker: str = state.worker
        self._n = 0

    @property
    def session(self) -> Mint:
        if self._st.mint is None:
            conninfo, display = maintenance_for(self.settings.url, self.settings.maintenance)
            self._st.mint = Mint(conninfo, display=display, run=self.settings.run)
        return self._st.mint.connect()

    def url_for(self, name: str) -> str:
        """The base URL (same driver, credentials, options) naming database name."""
        return with_database(self.settings.url, name)

    def dsn_for(self, name: str) -> str:
        """A libpq connection string for database name (psycopg, psql)."""
        return to_libpq(self.settings.url, name)[0]

    def name_for(self, label: str) -> str:
        """mint.worker_name(<this worker's database>, label): unique per worker."""
        return self.session.worker_name(self.database, label, "")

    def clone(self, name: Optional[str] = None, template: Optional[str] = None) -> Database:
        """A fresh copy of the template (of this run's fingerprint) under name
        (default: a new name unique to this worker), replacing an older copy
        of that name atomically."""
        if name is None:
            self._n += 1
            name = self.name_for("c%d" % self._n)
        tpl = template or self.template
        self.session.clone(tpl, name, self.fingerprint if tpl == self.template else None)
        return Database(name, self.url_for(name), self.dsn_for(name))

    def drop(self, name: str) -> bool:
        """Drop a database pg_mint made (False if it does not exist)."""
        return self.session.drop(name)


def _api(config: pytest.Config) -> MintApi:
    st = _state(config)
    if st.settings is None or st.info is None:
        pytest.fail("pg_mint is not configured for this run: set mint_build (and mint_fingerprint) in "
                    "pytest.ini, or pass --mint", pytrace=False)
    return MintApi(st)


@pytest.fixture(scope="session")
def mint(pytestconfig: pytest.Config) -> MintApi:
    """pg_mint for this worker: .database, .url, .clone(), .drop(), .url_for()."""
    return _api(pytestconfig)


@pytest.fixture(scope="session")
def mint_database_url(mint: MintApi) -> str:
    """The URL of this worker's database (what DATABASE_URL now says)."""
    return mint.url


@pytest.fixture(scope="session")
def _mint_fresh_slot(mint: MintApi) -> Iterator[str]:
    name = mint.name_for("fresh")
    yield name
    try:
        mint.drop(name)
    except MintError:
        pass


@pytest.fixture
def mint_fresh_database(mint: MintApi, _mint_fresh_slot: str) -> Database:
    """A fresh copy of the template for this test alone (from the warm pool
    when one is configured).  The next test's copy replaces it atomically
    (the old one is dropped in the background); the last is dropped at the
    end of the session."""
    try:
        return mint.clone(_mint_fresh_slot)
    except MintError as e:
        pytest.fail(str(e), pytrace=False)
