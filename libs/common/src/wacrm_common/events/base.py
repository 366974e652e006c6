"""Building blocks shared by the stream schemas: the frozen model base and JSON codecs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a timezone")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # year 1 at +01:00 has no UTC form
        raise ValueError("timestamp out of range") from exc


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class Frozen(BaseModel):
    """Immutable model; unknown fields are refused so producer bugs surface at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def utcnow() -> datetime:
    return datetime.now(UTC)
