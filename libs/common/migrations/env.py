"""Alembic environment: async engine, URL given by wacrm_common.migrate (never read here)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from wacrm_common.db import create_engine
from wacrm_common.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "", pool_size=1)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported")
asyncio.run(_online())
