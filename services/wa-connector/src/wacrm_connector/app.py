"""Connector app: the session manager plus health and metrics endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from wacrm_common.health import health_router, redis_check
from wacrm_common.settings import Settings
from wacrm_common.streams import consumer_name
from wacrm_connector.drivers.registry import make_driver
from wacrm_connector.manager import SessionManager


def create_app(settings: Settings) -> FastAPI:
    redis = Redis.from_url(settings.redis_url)
    manager = SessionManager(
        settings,
        redis=redis,
        driver_factory=make_driver,
        instance=consumer_name(settings.instance_id),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(manager.run(stop))
        yield
        stop.set()
        await asyncio.wait_for(task, timeout=20)
        await redis.aclose()

    app = FastAPI(title="wacrm connector", lifespan=lifespan)
    app.state.manager = manager
    app.include_router(health_router({"redis": redis_check(redis)}))
    return app
