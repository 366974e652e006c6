"""Async engine and session factory for PostgreSQL (SQLAlchemy 2 + asyncpg)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    # The session time zone is pinned to UTC so results never depend on the server's (M26).
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        pool_pre_ping=True,
        # Statement parameters are customers' messages and e-mails: keep them out of logs.
        hide_parameters=True,
        connect_args={"server_settings": {"timezone": "UTC"}},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
