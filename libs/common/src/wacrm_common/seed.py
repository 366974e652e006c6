"""Create the demo tenant and its admin once (idempotent); prints the credentials."""

from __future__ import annotations

import asyncio
import secrets
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wacrm_common.auth import hash_password, verify_password
from wacrm_common.db import create_engine, session_factory
from wacrm_common.models import Tenant, User
from wacrm_common.settings import Settings


async def seed_admin(*, session: AsyncSession, tenant_name: str, email: str, password: str) -> User:
    email = email.lower()  # log-in compares lower-cased; store it so, once
    user = await session.scalar(select(User).where(User.email == email))
    if user is not None:
        return user
    tenant = Tenant(name=tenant_name)
    session.add(tenant)
    await session.flush()
    user = User(
        tenant_id=tenant.id,
        email=email,
        name="Admin",
        role="admin",
        password_hash=hash_password(password),
    )
    session.add(user)
    await session.flush()
    return user


def _password(settings: Settings, remembered: Path) -> str:
    """ADMIN_PASSWORD when set; else one generated on the first run and kept in .data/."""
    if settings.admin_password is not None:
        return settings.admin_password.get_secret_value()
    if remembered.exists():
        return remembered.read_text().strip()
    password = secrets.token_urlsafe(12)
    remembered.parent.mkdir(parents=True, exist_ok=True)
    remembered.write_text(password + "\n")
    remembered.chmod(0o600)
    return password


async def _main(settings: Settings, remembered: Path) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    password = _password(settings, remembered)
    async with session_factory(engine)() as session, session.begin():
        user = await seed_admin(
            session=session,
            tenant_name=settings.demo_tenant_name,
            email=settings.admin_email,
            password=password,
        )
        if not verify_password(user.password_hash, password):
            user.password_hash = hash_password(password)
    await engine.dispose()
    # A generated demo password is shown (it is the operator's only way in); one given
    # through ADMIN_PASSWORD is a real secret and never reaches the logs.
    shown = "(from ADMIN_PASSWORD)" if settings.admin_password is not None else password
    sys.stdout.write(
        f"\n  wacrm admin login: {settings.admin_email}  password: {shown}\n"
        f"  API: http://{settings.gateway_host}:{settings.gateway_port}/docs"
        f"   Socket.IO: http://{settings.realtime_host}:{settings.realtime_port}\n\n"
    )


def main() -> None:
    asyncio.run(_main(Settings(), Path(".data/admin-password")))


if __name__ == "__main__":
    main()
