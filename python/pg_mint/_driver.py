"""The PostgreSQL driver the user already has: psycopg 3, else psycopg2.

``PG_MINT_DRIVER=psycopg2`` (or ``psycopg``) picks one explicitly.  Only the
few calls pg_mint needs: connect in autocommit, run one statement, read the
first column of the first row, close; errors come back as DriverError with
the server's SQLSTATE, message, detail and hint.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Sequence


class DriverError(Exception):
    def __init__(self, message: str, sqlstate: Optional[str] = None,
                 detail: Optional[str] = None, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint


class NoDriver(Exception):
    pass


def driver_name() -> str:
    wanted = os.environ.get("PG_MINT_DRIVER", "")
    order = [wanted] if wanted else ["psycopg", "psycopg2"]
    for name in order:
        try:
            __import__(name)
            return name
        except ImportError:
            continue
    raise NoDriver("pg_mint needs a PostgreSQL driver: install psycopg (3) or psycopg2%s"
                   % (" (PG_MINT_DRIVER=%s is not importable)" % wanted if wanted else ""))


def _wrap(e: Exception) -> DriverError:
    diag = getattr(e, "diag", None)
    sqlstate = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    msg = primary or str(e).strip()
    return DriverError(msg, sqlstate,
                       getattr(diag, "message_detail", None) if diag is not None else None,
                       getattr(diag, "message_hint", None) if diag is not None else None)


class Connection:
    """One autocommit connection."""

    def __init__(self, conninfo: str, application_name: str = "pg_mint") -> None:
        self.driver = driver_name()
        self._conn: Any
        try:
            if self.driver == "psycopg":
                import psycopg
                self._errors: Any = psycopg.Error
                self._conn = psycopg.connect(conninfo, autocommit=True,
                                             fallback_application_name=application_name)
            else:
                import psycopg2
                self._errors = psycopg2.Error
                self._conn = psycopg2.connect(conninfo, fallback_application_name=application_name)
                self._conn.autocommit = True
        except Exception as e:  # both drivers' connection errors
            if not _is_driver_error(e):
                raise
            raise _wrap(e) from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run sql; the first column of the first row (None without rows)."""
        try:
            cur = self._conn.cursor()
            try:
                cur.execute(sql, tuple(params))
                if cur.description is None:
                    return None
                row = cur.fetchone()
                return row[0] if row else None
            finally:
                cur.close()
        except self._errors as e:
            raise _wrap(e) from None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list:
        try:
            cur = self._conn.cursor()
            try:
                cur.execute(sql, tuple(params))
                return list(cur.fetchall())
            finally:
                cur.close()
        except self._errors as e:
            raise _wrap(e) from None

    @property
    def closed(self) -> bool:
        return bool(self._conn.closed)

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:
            pass


def _is_driver_error(e: Exception) -> bool:
    mod = type(e).__module__ or ""
    return mod.startswith("psycopg")
