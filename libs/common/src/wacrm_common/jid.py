"""WhatsApp JID and phone-number rules shared by every service (no driver imports)."""

from __future__ import annotations

import re

import phonenumbers

from wacrm_common.errors import InvalidInput

USER_SERVER = "s.whatsapp.net"
LID_SERVER = "lid"
GROUP_SERVER = "g.us"
BROADCAST_SERVER = "broadcast"
NEWSLETTER_SERVER = "newsletter"
STATUS_BROADCAST = "status@broadcast"

# Device JIDs of Cloud-API-hosted accounts live on these servers; whatsmeow's
# JID.ToNonAD maps them back to the ordinary user servers, and so do we.
_HOSTED_TO_USER_SERVER = {"hosted": USER_SERVER, "hosted.lid": LID_SERVER}

_IGNORED_SERVERS = frozenset({BROADCAST_SERVER, NEWSLETTER_SERVER})
_NON_DIGITS = re.compile(r"\D")

BRAZIL_CC = "55"
_BR_LOCAL_MOBILE_FIRST = frozenset("6789")


def _split(jid: str) -> tuple[str, str]:
    """Return (user, server); a JID without '@' is a bare server such as `g.us`."""
    user, sep, server = jid.strip().partition("@")
    return (user, server) if sep else ("", user)


def server_of(jid: str) -> str:
    return _split(jid)[1]


def bare_jid(jid: str) -> str:
    """Drop the agent (`.N`) and device (`:N`) parts: one identity per account, not per device."""
    user, server = _split(jid)
    if not user:
        return server
    user = user.split(":", 1)[0].split(".", 1)[0]
    return f"{user}@{_HOSTED_TO_USER_SERVER.get(server, server)}"


def is_group(jid: str) -> bool:
    return server_of(jid) == GROUP_SERVER


def is_lid(jid: str) -> bool:
    return server_of(bare_jid(jid)) == LID_SERVER


def is_phone_jid(jid: str) -> bool:
    user, server = _split(bare_jid(jid))
    return server == USER_SERVER and user.isdigit()


def is_ignored_chat(jid: str) -> bool:
    """Status updates, broadcast lists and channels are never CRM conversations (M15, M16)."""
    return jid.strip() == STATUS_BROADCAST or server_of(jid) in _IGNORED_SERVERS


def phone_from_jid(jid: str) -> str | None:
    """E.164 phone of a phone-number JID; None otherwise, since lid digits are no phone (M02)."""
    if not is_phone_jid(jid):
        return None
    return "+" + _split(bare_jid(jid))[0]


def jid_from_phone(phone: str, *, default_region: str | None = None) -> str:
    """The phone-number JID for a human-written number such as "+55 11 98123-4567".

    Numbers need a country code unless `default_region` (ISO 3166 alpha-2) is given.
    Only the length is checked, not the numbering plan: WhatsApp still routes old
    accounts on forms the plan no longer lists (the 8-digit Brazilian mobiles, M03).
    """
    text = phone.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text.isdigit() and default_region is None:
        text = "+" + text
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"not a phone number: {phone!r}", code="invalid_phone") from exc
    # An extension cannot be dialled by WhatsApp, so it is refused rather than dropped.
    if number.extension or not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"not a possible phone number: {phone!r}", code="invalid_phone")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164[1:]}@{USER_SERVER}"


def brazil_variants(digits: str) -> tuple[str, ...]:
    """Both forms of a Brazilian mobile number, the given form first (M03).

    Country 55, a two-digit area code (DDD, no zero digit), then a mobile of 9 + 8
    digits equals the same 8 digits when those start with 6-9. Landlines and
    foreign numbers come back alone and unchanged.
    """
    number = _NON_DIGITS.sub("", digits)
    if not number.startswith(BRAZIL_CC) or len(number) not in (12, 13):
        return (number,)
    ddd, local = number[2:4], number[4:]
    if "0" in ddd:
        return (number,)
    if len(local) == 9 and local[0] == "9" and local[1] in _BR_LOCAL_MOBILE_FIRST:
        return (number, f"{BRAZIL_CC}{ddd}{local[1:]}")
    if len(local) == 8 and local[0] in _BR_LOCAL_MOBILE_FIRST:
        return (number, f"{BRAZIL_CC}{ddd}9{local}")
    return (number,)
