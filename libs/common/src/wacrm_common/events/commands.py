"""The `wa:cmd:{session_id}` streams: what the gateway asks a session's connector to do."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from wacrm_common.events.base import Frozen, UtcDatetime, utcnow


class _Command(Frozen):
    command_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    tenant_id: uuid.UUID
    session_id: uuid.UUID
    issued_at: UtcDatetime = Field(default_factory=utcnow)
    # The session run it is meant for (see sessions.py); a later run ignores it. None: any
    # run, now or later (a queued reply goes out whenever the session connects).
    generation: int | None = None


class SendText(_Command):
    """Send a text; `wa_message_id` is chosen before sending so receipts can never race it."""

    type: Literal["send.text"] = "send.text"
    message_id: uuid.UUID
    wa_message_id: str
    chat_jid: str
    text: str
    quoted_id: str | None = None


class MarkRead(_Command):
    type: Literal["mark.read"] = "mark.read"
    chat_jid: str
    sender_jid: str
    wa_message_ids: tuple[str, ...]


class PairPhone(_Command):
    """Log in with a pair code for this phone number instead of scanning a QR code."""

    type: Literal["session.pair_phone"] = "session.pair_phone"
    phone: str


class LogoutSession(_Command):
    type: Literal["session.logout"] = "session.logout"


class SimulateChatExport(_Command):
    """Simulator only: replay a WhatsApp chat export as if its people had written it now."""

    type: Literal["simulate.chat_export"] = "simulate.chat_export"
    text: str
    owner: str | None = None
    speed: float = 0.0
    tz: str = "UTC"


Command = Annotated[
    SendText | MarkRead | PairPhone | LogoutSession | SimulateChatExport,
    Field(discriminator="type"),
]
COMMAND = TypeAdapter[Command](Command)


def command_stream(session_id: uuid.UUID | str) -> str:
    return f"wa:cmd:{session_id}"
