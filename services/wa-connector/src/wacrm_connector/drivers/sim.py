"""The `sim` driver: a SIMULATED WhatsApp account for demos, load tests and end-to-end tests.

It never touches WhatsApp. It builds the same neonize protobuf events the real driver
receives (drivers/sim_events.py) and passes them through the same pure mapping
(drivers/neonize_mapping.py), so everything after the mapping runs exactly as in
production. Sends are answered with receipts sent → delivered → read after delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections import Counter
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wacrm_common.chat_export import ExportedMessage, parse_chat_export
from wacrm_common.errors import InvalidInput
from wacrm_common.events.commands import MarkRead, SendText, SimulateChatExport
from wacrm_common.events.wa import (
    ContactUpdate,
    ContactUpdatePayload,
    MessageStatus,
    SessionConnected,
    SessionConnectedPayload,
    SessionDisconnected,
    SessionDisconnectedPayload,
    SessionLoggedOut,
    SessionPairCode,
    SessionPairCodePayload,
    StatusPayload,
    WaEvent,
)
from wacrm_common.jid import jid_from_phone
from wacrm_connector.drivers.base import SessionContext
from wacrm_connector.drivers.neonize_mapping import map_message_event, map_receipt
from wacrm_connector.drivers.sim_events import receipt_ev, text_message_ev

SIM_PUSH_NAME = "wacrm simulator"
SIM_PAIR_CODE = "SIMU-LATE"
# Longest pause between two replayed messages, whatever the speed: keeps demos moving.
MAX_GAP_SECONDS = 10.0
_PHONE_AUTHOR = re.compile(r"^\+?[\d\s().-]{8,}$")


def _digits(seed: str, n: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[-n:].rjust(n, "0")


def author_jid(author: str) -> str:
    """Authors written as phone numbers get their real JID; names get a stable simulated LID."""
    if _PHONE_AUTHOR.match(author):
        with contextlib.suppress(InvalidInput):
            return jid_from_phone(author)
    return f"{_digits('author:' + author, 15)}@lid"


def export_message_ids(chat_jid: str, messages: list[ExportedMessage]) -> list[str]:
    """WhatsApp ids derived from each message's content, so replaying a file again adds
    nothing, and neither does a later export of the same chat (its lines shift, the
    messages don't). Identical messages (same author, minute and text) are told apart by
    their order."""
    seen: Counter[tuple[str, str, str]] = Counter()
    ids = []
    for message in messages:
        key = (message.author, message.timestamp.isoformat(), message.text)
        seen[key] += 1
        seed = "|".join((chat_jid, *key, str(seen[key])))
        ids.append("SIM" + hashlib.sha256(seed.encode()).hexdigest()[:17].upper())
    return ids


class SimDriver:
    """A simulated account; see the module docstring."""

    def __init__(self, ctx: SessionContext) -> None:
        self.ctx = ctx
        self.own_jid = f"5500{_digits('session:' + str(ctx.session_id), 9)}@s.whatsapp.net"
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _envelope(self) -> dict[str, Any]:
        return {"tenant_id": self.ctx.tenant_id, "session_id": self.ctx.session_id}

    async def start(self) -> None:
        await self.ctx.emit(
            [
                SessionConnected(
                    **self._envelope(),
                    payload=SessionConnectedPayload(jid=self.own_jid, push_name=SIM_PUSH_NAME),
                )
            ]
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.ctx.emit(
            [
                SessionDisconnected(
                    **self._envelope(),
                    payload=SessionDisconnectedPayload(reason="stopped"),
                )
            ]
        )

    async def logout(self) -> None:
        await self.stop()
        await self.ctx.emit(
            [
                SessionLoggedOut(
                    **self._envelope(),
                    payload=SessionDisconnectedPayload(reason="logged out"),
                )
            ]
        )

    async def send_text(self, command: SendText) -> None:
        self._spawn(self._receipts(command))

    async def _receipts(self, command: SendText) -> None:
        d_sent, d_delivered, d_read = self.ctx.settings.sim_receipt_delays
        await asyncio.sleep(d_sent)
        # whatsmeow reports "sent" as the return of SendMessage (the server ack), not a Receipt.
        await self.ctx.emit(
            [
                MessageStatus(
                    **self._envelope(),
                    payload=StatusPayload(
                        chat_jid=command.chat_jid,
                        message_ids=(command.wa_message_id,),
                        status="sent",
                        timestamp=datetime.now(UTC),
                    ),
                )
            ]
        )
        for delay, kind in ((d_delivered - d_sent, "delivered"), (d_read - d_delivered, "read")):
            await asyncio.sleep(max(delay, 0))
            receipt = receipt_ev(
                chat_jid=command.chat_jid,
                sender_jid=command.chat_jid,
                message_ids=[command.wa_message_id],
                kind=kind,  # type: ignore[arg-type]
                timestamp=datetime.now(UTC),
            )
            event = map_receipt(receipt, **self._envelope())
            if event is not None:
                await self.ctx.emit([event])

    async def pair_phone(self, phone: str) -> str:
        """A simulated pair code, then a simulated login (no phone is ever contacted)."""
        jid_from_phone(phone)  # the same validation the real driver applies
        code = SIM_PAIR_CODE
        await self.ctx.emit(
            [SessionPairCode(**self._envelope(), payload=SessionPairCodePayload(code=code))]
        )
        await self.start()
        return code

    async def mark_read(self, command: MarkRead) -> None:
        """The simulated customer's phone needs nothing: read receipts end here."""

    async def simulate_chat_export(self, command: SimulateChatExport) -> int:
        messages = parse_chat_export(command.text, tz=ZoneInfo(command.tz))
        self._spawn(self._replay(messages, owner=command.owner, speed=command.speed))
        return len(messages)

    async def _replay(
        self, messages: list[ExportedMessage], *, owner: str | None, speed: float
    ) -> None:
        others = list(dict.fromkeys(m.author for m in messages if m.author != owner))
        jids = {a: author_jid(a) for a in others}
        is_group = len(others) != 1
        if is_group:
            chat = f"120363{_digits('group:' + '|'.join(sorted(others)), 12)}@g.us"
            name = "Simulated group: " + ", ".join(others[:3]) + ("…" if len(others) > 3 else "")
            await self.ctx.emit(
                [
                    ContactUpdate(
                        **self._envelope(),
                        payload=ContactUpdatePayload(
                            jid=chat,
                            name=name,
                        ),
                    )
                ]
            )
        else:
            chat = jids[others[0]]
        pending: list[WaEvent] = []
        previous: datetime | None = None
        for message, message_id in zip(messages, export_message_ids(chat, messages), strict=True):
            if speed > 0 and previous is not None:
                gap = (message.timestamp - previous) / speed
                await self.ctx.emit(pending)
                pending = []
                await asyncio.sleep(min(max(gap, timedelta(0)).total_seconds(), MAX_GAP_SECONDS))
            previous = message.timestamp
            from_me = message.author == owner
            ev = text_message_ev(
                chat_jid=chat,
                sender_jid=self.own_jid if from_me else jids[message.author],
                message_id=message_id,
                text=message.text,
                timestamp=message.timestamp,
                push_name=message.author,
                from_me=from_me,
                is_group=is_group,
            )
            event = map_message_event(ev, **self._envelope())
            if event is not None:
                pending.append(event)
        await self.ctx.emit(pending)
