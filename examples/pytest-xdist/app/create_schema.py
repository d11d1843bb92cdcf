"""Create the schema in the database DATABASE_URL points at.

    DATABASE_URL=postgresql+psycopg:///app_tpl python3 -m app.create_schema

Used by the CLI variant (`pg_mint template ... -- python3 -m app.create_schema`);
pytest.ini names build() as the pg_mint plugin's mint_build.  If DATABASE_URL is unset, the libpq variables (PGHOST, PGPORT, PGUSER,
PGDATABASE, ...) that pg_mint passes to the schema command are used.
"""
import os

if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = "postgresql+psycopg://"  # empty URL: psycopg reads PG* variables

from sqlalchemy.pool import NullPool  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from app.models import metadata  # noqa: E402


def build(url):
    """pg_mint's build (mint_build = app.create_schema:build in pytest.ini):
    create every table in the database url names (the template)."""
    # NullPool + dispose: no connection may stay open on a template
    engine = create_engine(url, poolclass=NullPool, future=True)
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
    finally:
        engine.dispose()


def main():
    engine = create_engine(os.environ["DATABASE_URL"], poolclass=NullPool, future=True)
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
            name = conn.exec_driver_sql("SELECT current_database()").scalar()
    finally:
        engine.dispose()
    print("created %d tables in %s" % (len(metadata.tables), name))


if __name__ == "__main__":
    main()
