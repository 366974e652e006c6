"""`/api/auth`: log in with e-mail and password, get a bearer token."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from wacrm_common.auth import Principal, check_password, issue_token
from wacrm_common.errors import Unauthenticated
from wacrm_common.models import User
from wacrm_gateway.deps import SessionDep, SettingsDep
from wacrm_gateway.schemas import LoginIn, TokenOut

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login")
async def login(body: LoginIn, session: SessionDep, settings: SettingsDep) -> TokenOut:
    user = await session.scalar(select(User).where(func.lower(User.email) == body.email.lower()))
    valid = await check_password(user.password_hash if user else None, body.password)
    if user is None or not valid:
        raise Unauthenticated("wrong e-mail or password", code="invalid_credentials")
    token = issue_token(
        Principal(user_id=user.id, tenant_id=user.tenant_id),
        secret=settings.jwt_key(),
        ttl_seconds=settings.jwt_ttl_seconds,
    )
    return TokenOut(access_token=token)
