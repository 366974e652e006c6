"""Ingest service app: the worker loop plus health and metrics endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from wacrm_common import outbox
from wacrm_common.db import create_engine, session_factory
from wacrm_common.health import db_check, health_router, redis_check
from wacrm_common.settings import Settings
from wacrm_ingest.worker import build_worker


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(worker.run(stop)),
            asyncio.create_task(outbox.run_sweeper(redis, sessions, stop)),
        ]
        yield
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
        await redis.aclose()
        await engine.dispose()

    engine = create_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url)
    sessions = session_factory(engine)
    worker = build_worker(settings, redis=redis, sessions=sessions)
    app = FastAPI(title="wacrm ingest", lifespan=lifespan)
    app.include_router(health_router({"db": db_check(engine), "redis": redis_check(redis)}))
    return app
