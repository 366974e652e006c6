"""Liveness, readiness and Prometheus endpoints every service mounts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

Check = Callable[[], Awaitable[object]]


def redis_check(redis: Redis) -> Check:
    async def check() -> object:
        return await redis.ping()

    return check


def db_check(engine: AsyncEngine) -> Check:
    async def check() -> object:
        async with engine.connect() as conn:
            return await conn.scalar(text("SELECT 1"))

    return check


def health_router(checks: Mapping[str, Check]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> Response:
        failed: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
            except Exception as exc:  # any failure means "not ready"; say which dependency
                failed[name] = type(exc).__name__
        status = 503 if failed else 200
        return JSONResponse({"status": "fail" if failed else "ok", "failed": failed}, status)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
