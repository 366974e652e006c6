"""Request and response bodies of the REST API (views shared with realtime live in events.rt)."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Text PostgreSQL can store: NUL is refused with a 422 rather than failing on write.
Text = Annotated[str, AfterValidator(_no_nul)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class LoginIn(Body):
    email: Text = Field(min_length=3, max_length=320)
    password: Text = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class SessionIn(Body):
    name: Text = Field(min_length=1, max_length=200)
    driver: Literal["sim", "neonize"]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class SendTextIn(Body):
    text: Annotated[Text, AfterValidator(_not_blank)] = Field(min_length=1, max_length=65536)
    client_id: Text = Field(min_length=1, max_length=100)
    quoted_id: Text | None = Field(default=None, max_length=128)


class PairCodeIn(Body):
    phone: Text = Field(min_length=8, max_length=32, examples=["+55 11 98765-4321"])


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
