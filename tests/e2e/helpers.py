"""Helpers for end-to-end tests: paging through REST, reading stream state."""

from __future__ import annotations

from typing import Any

import socketio

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


class Recorder:
    """A Socket.IO client that keeps every event it receives, in order."""

    NAMES = (
        "message.created",
        "message.updated",
        "conversation.updated",
        "session.updated",
        "resync_required",
    )

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, dict[str, Any]]] = []
        for name in self.NAMES:
            self.sio.on(name, self._keep(name))

    def _keep(self, name: str):
        async def handler(data: dict[str, Any]) -> None:
            self.events.append((name, data))

        return handler

    async def connect(self, url: str, token: str, last_event_id: str | None = None) -> None:
        auth = {"token": token} | ({"last_event_id": last_event_id} if last_event_id else {})
        await self.sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [d for n, d in self.events if n == name]
