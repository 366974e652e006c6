"""Run Alembic migrations (the schema's single owner) programmatically or from the CLI."""

from __future__ import annotations

import argparse
import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from wacrm_common.db import create_engine
from wacrm_common.settings import Settings

_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    config = Config(str(_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_ROOT / "migrations"))
    # ConfigParser treats % specially; URLs may contain it (escaped passwords).
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def reset(database_url: str) -> None:
    """An empty schema at head: drops everything first (tests and benchmarks only)."""

    async def drop() -> None:
        engine = create_engine(database_url, pool_size=1)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(drop())
    upgrade(database_url)  # Alembic's env.py runs its own event loop: call it outside one.


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """Alembic's env.py owns an event loop, so run it on a thread of its own."""
    error: list[BaseException] = []

    def target() -> None:
        try:
            upgrade(database_url, revision)
        except BaseException as exc:  # re-raised in the caller's task
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    await asyncio.to_thread(thread.join)
    if error:
        raise error[0]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m wacrm_common.migrate")
    parser.add_argument("revision", nargs="?", default="head")
    parser.add_argument("--down", action="store_true", help="downgrade to REVISION")
    args = parser.parse_args()
    url = Settings().database_url
    if args.down:
        downgrade(url, args.revision)
    else:
        upgrade(url, args.revision)


if __name__ == "__main__":
    main()
