"""``postgresql+psycopg://`` (psycopg 3) for SQLAlchemy 1.4.

SQLAlchemy 2.0 ships this dialect; 1.4 (Debian 12's python3-sqlalchemy)
does not.  app/__init__.py registers this small dialect only when the installed
SQLAlchemy lacks its own, so the same ``postgresql+psycopg://`` URL works on
both.  It uses psycopg's client-side binding cursor, which behaves like
psycopg2 with respect to parameter formatting.
"""
import psycopg
from sqlalchemy.dialects.postgresql.base import PGDialect, PGExecutionContext

_LEVELS = {
    "READ UNCOMMITTED": psycopg.IsolationLevel.READ_UNCOMMITTED,
    "READ COMMITTED": psycopg.IsolationLevel.READ_COMMITTED,
    "REPEATABLE READ": psycopg.IsolationLevel.REPEATABLE_READ,
    "SERIALIZABLE": psycopg.IsolationLevel.SERIALIZABLE,
}


class PGDialect_psycopg3(PGDialect):
    driver = "psycopg"
    supports_statement_cache = True
    supports_unicode_statements = True
    supports_unicode_binds = True
    supports_sane_multi_rowcount = True
    supports_native_decimal = True
    default_paramstyle = "pyformat"
    execution_ctx_cls = PGExecutionContext

    @classmethod
    def dbapi(cls):
        return psycopg

    def create_connect_args(self, url):
        opts = url.translate_connect_args(username="user", database="dbname")
        opts.update(url.query)
        opts.setdefault("cursor_factory", psycopg.ClientCursor)
        return [], opts

    def _dbapi_version(self):
        return tuple(int(x) for x in psycopg.__version__.split(".")[:3] if x.isdigit())

    def set_isolation_level(self, dbapi_conn, level):
        level = level.replace("_", " ")
        if level == "AUTOCOMMIT":
            dbapi_conn.autocommit = True
            return
        if level not in _LEVELS:
            return super().set_isolation_level(dbapi_conn, level)
        if dbapi_conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            dbapi_conn.rollback()
        dbapi_conn.autocommit = False
        dbapi_conn.isolation_level = _LEVELS[level]

    def get_isolation_level(self, dbapi_conn):
        if dbapi_conn.autocommit:
            return "AUTOCOMMIT"
        return super().get_isolation_level(dbapi_conn)

    def reset_isolation_level(self, dbapi_conn):
        dbapi_conn.autocommit = False
        dbapi_conn.isolation_level = None

    def is_disconnect(self, e, connection, cursor):
        if isinstance(e, psycopg.Error) and connection is not None:
            return bool(connection.closed or connection.broken)
        return False


dialect = PGDialect_psycopg3
