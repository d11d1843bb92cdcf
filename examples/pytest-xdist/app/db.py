"""The application's engine, built from DATABASE_URL when this module is
imported -- exactly the pattern that forces a test suite to pick its database
before the app is imported (the pg_mint plugin does, see ../pytest.ini)."""
import os

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg:///app")

engine = create_engine(DATABASE_URL, pool_size=2, max_overflow=2, future=True)
SessionLocal = sessionmaker(bind=engine, future=True, expire_on_commit=False)
