"""What every driver offers the session runner, and what the runner gives every driver."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from wacrm_common.events.commands import MarkRead, SendText, SimulateChatExport
from wacrm_common.events.wa import WaEvent
from wacrm_common.settings import Settings

Emit = Callable[[Sequence[WaEvent]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SessionContext:
    tenant_id: uuid.UUID
    session_id: uuid.UUID
    settings: Settings
    emit: Emit


class Driver(Protocol):
    """One WhatsApp account. Methods raise AppError for failures that retrying cannot fix."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def logout(self) -> None: ...

    async def send_text(self, command: SendText) -> None: ...

    async def mark_read(self, command: MarkRead) -> None: ...

    async def pair_phone(self, phone: str) -> str: ...

    async def simulate_chat_export(self, command: SimulateChatExport) -> int: ...
