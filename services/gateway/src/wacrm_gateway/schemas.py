"""Request and response bodies of the REST API (views shared with realtime live in events.rt)."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class LoginIn(Body):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class SessionIn(Body):
    name: str = Field(min_length=1, max_length=200)
    driver: Literal["sim", "neonize"]


class SendTextIn(Body):
    text: str = Field(min_length=1, max_length=65536)
    client_id: str = Field(min_length=1, max_length=100)
    quoted_id: str | None = Field(default=None, max_length=128)


class PairCodeIn(Body):
    phone: str = Field(min_length=8, max_length=32, examples=["+55 11 98765-4321"])


class QrOut(BaseModel):
    code: str
    svg: str


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class QueuedOut(BaseModel):
    queued: int


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody
