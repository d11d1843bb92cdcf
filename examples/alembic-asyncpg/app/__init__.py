"""A FastAPI-style service (without FastAPI): async SQLAlchemy on asyncpg,
schema managed by Alembic (migrations/)."""
