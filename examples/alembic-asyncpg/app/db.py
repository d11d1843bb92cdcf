"""The engine, built from DATABASE_URL when the module is imported (the usual
FastAPI layout), e.g. postgresql+asyncpg://app:secret@db:5432/app?ssl=require."""
import os

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+asyncpg:///app")

# NullPool: every request opens its own connection, so the engine works from
# any event loop (each test runs its own with asyncio.run)
engine = create_async_engine(DATABASE_URL, poolclass=NullPool, future=True)
Session = sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
