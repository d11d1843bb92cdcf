"""A session on the maintenance database that calls the extension's SQL API.

Everything here is a thin, typed wrapper around ``mint.*`` functions
(``worker_name``, ``template_begin``/``finish``/``abort``, ``clone``,
``drop``, ``set_pool``), plus the checks that turn the usual set-up
mistakes into messages that say what to do.
"""
from __future__ import annotations

import os
from typing import Optional

from ._driver import Connection, DriverError, NoDriver
from .urls import redact

__all__ = ["MintError", "Mint", "RUN_ENV_VARS", "run_identity"]

# The variables the CLI reads for the run identity, in its order
# (cli/pg_mint.h RUN_ENV_VARS).
RUN_ENV_VARS = ("PG_MINT_RUN", "GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_ID",
                "CIRCLE_WORKFLOW_ID", "BUILD_TAG")


def run_identity(explicit: Optional[str] = None) -> Optional[str]:
    """--mint-run, else PG_MINT_RUN, else the first CI variable that is set."""
    if explicit:
        return explicit
    for var in RUN_ENV_VARS:
        if os.environ.get(var):
            return os.environ[var]
    return None


class MintError(Exception):
    """A pg_mint failure, with what to do about it.  str() is the whole text."""

    def __init__(self, message: str, hint: Optional[str] = None, sqlstate: Optional[str] = None,
                 detail: Optional[str] = None) -> None:
        self.message = message
        self.hint = hint
        self.sqlstate = sqlstate
        self.detail = detail
        super().__init__(str(self))

    def __str__(self) -> str:
        s = "pg_mint: " + self.message
        if self.sqlstate:
            s += " (SQLSTATE %s)" % self.sqlstate
        if self.detail:
            s += "\ndetail: " + self.detail
        if self.hint:
            s += "\nhint: " + self.hint
        return s


def _server_error(what: str, e: DriverError) -> MintError:
    return MintError("%s: %s" % (what, redact(e.message)), hint=e.hint, sqlstate=e.sqlstate,
                     detail=e.detail)


class Mint:
    """One autocommit session on the database where pg_mint is installed.

    ``conninfo`` is a libpq connection string (see :func:`pg_mint.urls.to_libpq`);
    ``display`` is what messages show for it (passwords are redacted anyway).
    """

    def __init__(self, conninfo: str, display: Optional[str] = None, run: Optional[str] = None,
                 application_name: str = "pg_mint") -> None:
        self.conninfo = conninfo
        self.display = redact(display or conninfo)
        self.run = run or None
        self.application_name = application_name
        self._conn: Optional[Connection] = None

    # ---- connection and checks ---------------------------------------------
    def connect(self) -> "Mint":
        if self._conn is not None and not self._conn.closed:
            return self
        try:
            self._conn = Connection(self.conninfo, self.application_name)
        except NoDriver as e:
            raise MintError(str(e)) from None
        except DriverError as e:
            hint = None
            if e.sqlstate == "3D000":
                hint = ("pg_mint connects to the database where the extension is installed "
                        "(\"postgres\" by default); set mint_maintenance (--mint-maintenance, "
                        "PG_MINT_MAINTENANCE_URL) to another database name or URL.")
            elif e.sqlstate in ("28P01", "28000"):
                hint = "Check the user name and password of the URL (or PGPASSWORD, ~/.pgpass)."
            else:
                hint = "Is the server running, and is the URL right? pg_mint doctor checks the connection."
            raise MintError("could not connect to the maintenance database at %s: %s"
                            % (self.display, redact(e.message)), hint=hint, sqlstate=e.sqlstate) from None
        c = self._conn
        try:
            c.query("SELECT pg_catalog.set_config('search_path', '', false)")
            if self.run:
                c.query("SELECT pg_catalog.set_config('pg_mint.run', %s, false)", (self.run,))
        except DriverError as e:
            raise _server_error("could not set up the maintenance session", e) from None
        return self

    @property
    def conn(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self.connect()
        assert self._conn is not None
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Mint":
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _q(self, what: str, sql: str, *params: object) -> object:
        try:
            return self.conn.query(sql, params)
        except DriverError as e:
            raise _server_error(what, e) from None

    def check_extension(self) -> str:
        """The installed version; a MintError naming the CREATE EXTENSION line otherwise."""
        db, version, available = self.conn.rows(
            "SELECT pg_catalog.current_database(), "
            " (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'pg_mint'), "
            " EXISTS (SELECT FROM pg_catalog.pg_available_extensions a WHERE a.name OPERATOR(pg_catalog.=) 'pg_mint')")[0]
        if version:
            return str(version)
        if available:
            raise MintError('extension "pg_mint" is not installed in database "%s" (%s)' % (db, self.display),
                            hint="Install it there once, as a role allowed to create extensions: "
                                 "psql -d %s -c 'CREATE EXTENSION pg_mint'" % db)
        raise MintError('extension "pg_mint" is not available on the server of %s' % self.display,
                        hint="Install pg_mint's files on the server (make install in pg_mint's source, "
                             "or its package), then, as a role allowed to create extensions: "
                             "psql -d %s -c 'CREATE EXTENSION pg_mint'" % db)

    def check_createdb(self) -> None:
        user, ok = self.conn.rows(
            "SELECT r.rolname, r.rolcreatedb OR r.rolsuper FROM pg_catalog.pg_roles r "
            "WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER")[0]
        if not ok:
            ident = '"%s"' % str(user).replace('"', '""')
            raise MintError('role %s may not create databases (no CREATEDB), so pg_mint cannot '
                            'build templates or clone them for it' % ident,
                            hint="As a superuser: ALTER ROLE %s CREATEDB;  (CREATEDB is a role "
                                 "attribute: a GRANT of a role that has it does not pass it on)" % ident)

    # ---- the SQL API ------------------------------------------------------------
    def worker_name(self, base: str, worker: Optional[str] = "", run: Optional[str] = None) -> str:
        run = self.run if run is None else run
        if run:
            return str(self._q("mint.worker_name failed", "SELECT mint.worker_name(%s, %s, %s)",
                               base, worker or "", run))
        return str(self._q("mint.worker_name failed", "SELECT mint.worker_name(%s, %s)", base, worker or ""))

    def template_begin(self, template: str, fingerprint: str = "") -> str:
        try:
            return str(self.conn.query("SELECT mint.template_begin(%s, %s)", (template, fingerprint)))
        except DriverError as e:
            err = _server_error('mint.template_begin for template "%s" failed' % template, e)
            if e.sqlstate == "42501" and "create database" in e.message.lower():
                self.check_createdb()
            raise err from None

    def template_finish(self, template: str) -> None:
        self._q('mint.template_finish for template "%s" failed' % template,
                "SELECT mint.template_finish(%s)", template)

    def template_abort(self, template: str) -> None:
        self._q('mint.template_abort for template "%s" failed' % template,
                "SELECT mint.template_abort(%s)", template)

    def clone(self, template: str, target: str, fingerprint: Optional[str] = None) -> str:
        what = 'mint.clone of template "%s" into "%s" failed' % (template, target)
        if fingerprint is None:
            return str(self._q(what, "SELECT mint.clone(%s, %s)", template, target))
        return str(self._q(what, "SELECT mint.clone(%s, %s, %s)", template, target, fingerprint))

    def drop(self, target: str) -> bool:
        return bool(self._q('mint.drop of "%s" failed' % target, "SELECT mint.drop(%s)", target))

    def set_pool(self, template: str, spares: int) -> None:
        self._q('mint.set_pool for template "%s" failed' % template,
                "SELECT mint.set_pool(%s, %s)", template, int(spares))

    def exists(self, dbname: str) -> bool:
        return bool(self._q("could not look up database", "SELECT EXISTS (SELECT FROM pg_catalog.pg_database d "
                            "WHERE d.datname OPERATOR(pg_catalog.=) %s)", dbname))

