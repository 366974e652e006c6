"""Redis stream entry ids (`<ms>-<seq>`) as ordered values."""

from __future__ import annotations

import re
from typing import NamedTuple

# "ms-seq", or "ms" alone, which Redis reads as ms-0.
_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")
_MAX = 2**64 - 1


class StreamId(NamedTuple):
    """An entry id; tuples compare the way Redis orders entries."""

    ms: int
    seq: int

    @classmethod
    def parse(cls, raw: bytes | str) -> StreamId:
        text = raw.decode() if isinstance(raw, bytes) else raw
        match = _ID.fullmatch(text)
        if match is None:
            raise ValueError(f"not a stream entry id: {text!r}")
        ms, seq = int(match[1]), int(match[2] or 0)
        if ms > _MAX or seq > _MAX:
            raise ValueError(f"stream entry id out of range: {text!r}")
        return cls(ms, seq)

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


ZERO = StreamId(0, 0)
