"""Helpers for end-to-end tests: paging through REST, reading stream state."""

from __future__ import annotations

from typing import Any

from tests.conftest import Account, Product


async def all_pages(
    product: Product, account: Account, path: str, *, limit: int = 50
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await product.http.get(path, params=params, headers=account.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def ingest_caught_up(redis: Any) -> bool:
    """True when the ingest group has read every `wa:events` entry and acked them all."""
    groups = await redis.xinfo_groups("wa:events")
    for g in groups:
        if g["name"] in (b"ingest", "ingest"):
            return int(g["pending"]) == 0 and int(g.get("lag") or 0) == 0
    return False
