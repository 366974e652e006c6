"""Media service app: makes sure the media bucket exists and reports S3 in its readiness.

The `media:jobs` consumer (probe, thumbnails, Safari-playable voice notes) arrives with
the media issue; this process already owns the bucket and its health checks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from wacrm_common.health import health_router, redis_check
from wacrm_common.settings import Settings
from wacrm_common.storage import Storage


def create_app(settings: Settings) -> FastAPI:
    redis = Redis.from_url(settings.redis_url)
    storage = Storage(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await storage.ensure_bucket()
        yield
        await redis.aclose()

    app = FastAPI(title="wacrm media", lifespan=lifespan)
    app.include_router(health_router({"redis": redis_check(redis), "s3": storage.ensure_bucket}))
    return app
