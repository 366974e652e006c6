"""Realtime hub app: one Socket.IO server over FastAPI (health, metrics) and the relay's life."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import socketio
from fastapi import FastAPI
from redis.asyncio import Redis

from wacrm_common.db import create_engine, session_factory
from wacrm_common.health import db_check, health_router, redis_check
from wacrm_common.settings import Settings
from wacrm_realtime.namespaces import HubNamespace
from wacrm_realtime.relay import Relay

# Clients authenticate with a token in the Socket.IO auth payload, never with cookies, so
# any origin may connect: a foreign page has no credential to ride on (the SPA is served
# by the gateway, on another origin than this hub).
CORS_ALLOWED_ORIGINS = "*"


def create_app(settings: Settings) -> socketio.ASGIApp:
    engine = create_engine(settings.database_url, pool_size=5)
    redis = Redis.from_url(settings.redis_url)
    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=CORS_ALLOWED_ORIGINS)
    relay = Relay(sio, redis, block_ms=settings.consumer_block_ms, batch=settings.consumer_batch)
    sio.register_namespace(
        HubNamespace(
            relay=relay,
            sessions=session_factory(engine),
            jwt_secret=settings.jwt_key(),
        )
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await relay.start()
        try:
            yield
        finally:
            await relay.stop()
            await sio.shutdown()
            await redis.aclose()
            await engine.dispose()

    api = FastAPI(title="wacrm realtime", lifespan=lifespan)
    api.include_router(health_router({"db": db_check(engine), "redis": redis_check(redis)}))
    return socketio.ASGIApp(sio, other_asgi_app=api)
