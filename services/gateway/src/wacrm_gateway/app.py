"""Gateway app factory: routers, error handling, shared clients on app.state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from wacrm_common.db import create_engine, session_factory
from wacrm_common.health import db_check, health_router, redis_check
from wacrm_common.settings import Settings
from wacrm_gateway.api import auth, conversations, dlq, sessions
from wacrm_gateway.errors import install_error_handlers
from wacrm_gateway.limits import BodyLimit


def create_app(settings: Settings) -> FastAPI:
    settings.jwt_key()  # fail at start-up, not at the first login
    engine = create_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await redis.aclose()
        await engine.dispose()

    app = FastAPI(title="wacrm API", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.redis = redis
    app.state.sessions = session_factory(engine)
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    app.include_router(health_router({"db": db_check(engine), "redis": redis_check(redis)}))
    for module in (auth, sessions, conversations, dlq):
        app.include_router(module.router)
    return app
