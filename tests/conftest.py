"""Shared fixtures: the whole product running in-process against the real servers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wacrm_common.seed import seed_admin
from wacrm_common.settings import Settings

# neonize's import runs `os.popen("uname -a")` and never closes the pipe; collect that
# leak here, silenced, so filterwarnings=error does not blame whichever test runs next.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ResourceWarning)
    import neonize  # noqa: F401

    gc.collect()

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def corpus_dir(name: str) -> Path:
    folder = CORPUS / name
    if not folder.is_dir():
        pytest.skip(f"../shared/corpus not found ({folder}): corpus tests need the shared folder")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(app: Any, port: int) -> AsyncIterator[str]:
    """Run an ASGI app on a real socket inside the test's event loop."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


@dataclass
class Account:
    email: str
    password: str
    token: str
    tenant_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Product:
    """The running product: REST base URL, Socket.IO URL, and two tenants' admins."""

    api: str
    realtime: str
    http: httpx.AsyncClient
    alice: Account
    bob: Account
    settings: Settings

    async def new_sim_session(
        self, account: Account, name: str = "Loja (simulador)"
    ) -> dict[str, Any]:
        r = await self.http.post(
            "/api/sessions", json={"name": name, "driver": "sim"}, headers=account.headers
        )
        assert r.status_code == 201, r.text
        session = r.json()
        r = await self.http.post(f"/api/sessions/{session['id']}/start", headers=account.headers)
        assert r.status_code == 200, r.text
        return r.json()


async def _account(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], email: str
) -> Account:
    password = f"pw-{email}"
    async with sessions() as s, s.begin():
        user = await seed_admin(
            session=s, tenant_name=email.split("@")[1], email=email, password=password
        )
    r = await http.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return Account(email, password, r.json()["access_token"], str(user.tenant_id))


@pytest.fixture
async def product(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], redis: Any
) -> AsyncIterator[Product]:
    from wacrm_connector.app import create_app as connector_app
    from wacrm_gateway.app import create_app as gateway_app
    from wacrm_ingest.app import create_app as ingest_app
    from wacrm_realtime.app import create_app as realtime_app

    async with contextlib.AsyncExitStack() as stack:
        api = await stack.enter_async_context(serve(gateway_app(settings), free_port()))
        rt_url = await stack.enter_async_context(serve(realtime_app(settings), free_port()))
        await stack.enter_async_context(serve(ingest_app(settings), free_port()))
        await stack.enter_async_context(serve(connector_app(settings), free_port()))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=api, timeout=30))
        alice = await _account(http, sessions, "alice@loja.example")
        bob = await _account(http, sessions, "bob@outra.example")
        yield Product(api, rt_url, http, alice, bob, settings)
