"""Password hashing (argon2) and access tokens (JWT, HS256) shared by gateway and realtime."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from wacrm_common.errors import Unauthenticated

_hasher = PasswordHasher()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Checked when the e-mail is unknown, so both answers take an argon2 verification's time.
_DUMMY_HASH = _hasher.hash("wacrm-no-such-user")


async def check_password(password_hash: str | None, password: str) -> bool:
    """argon2 off the event loop (it takes ~100 ms of CPU by design)."""
    ok = await asyncio.to_thread(verify_password, password_hash or _DUMMY_HASH, password)
    return ok and password_hash is not None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: every query the caller makes is scoped to `tenant_id`."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID


def issue_token(principal: Principal, *, secret: str, ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(principal.user_id),
        "tid": str(principal.tenant_id),
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "tid"]}
        )
        return Principal(user_id=uuid.UUID(claims["sub"]), tenant_id=uuid.UUID(claims["tid"]))
    except (jwt.PyJWTError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unauthenticated("invalid or expired token") from exc
