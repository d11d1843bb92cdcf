"""A small shop backend: the kind of application pg_mint is for."""
import sqlalchemy

if sqlalchemy.__version__.split(".")[0] == "1":
    # SQLAlchemy 1.4 (Debian 12) has no psycopg 3 dialect; 2.x has its own.
    from sqlalchemy.dialects import registry

    registry.register("postgresql.psycopg", "app._psycopg_sa14", "PGDialect_psycopg3")
