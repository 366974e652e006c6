"""Tests of the JID and phone rules in wacrm_common.jid."""

from __future__ import annotations

import pytest

from wacrm_common.errors import InvalidInput
from wacrm_common.jid import (
    bare_jid,
    brazil_variants,
    is_group,
    is_ignored_chat,
    is_lid,
    is_phone_jid,
    jid_from_phone,
    phone_from_jid,
)


@pytest.mark.parametrize(
    ("phone", "jid"),
    [
        ("+55 11 98123-4567", "5511981234567@s.whatsapp.net"),
        ("+55 (11) 98123-4567", "5511981234567@s.whatsapp.net"),
        ("5511987654321", "5511987654321@s.whatsapp.net"),
        ("551187654321", "551187654321@s.whatsapp.net"),
        ("+55 84 9 9123-4567", "5584991234567@s.whatsapp.net"),
        ("0055 11 3456-7890", "551134567890@s.whatsapp.net"),
        ("+1 (415) 555-2671", "14155552671@s.whatsapp.net"),
        ("  +351 912 345 678 ", "351912345678@s.whatsapp.net"),
    ],
)
def test_jid_from_phone_accepts_human_formats(phone: str, jid: str) -> None:
    assert jid_from_phone(phone) == jid


def test_jid_from_phone_uses_default_region_for_national_numbers() -> None:
    assert jid_from_phone("(11) 98123-4567", default_region="BR") == (
        "5511981234567@s.whatsapp.net"
    )


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "abc",
        "+1 2",
        "(11) 98123-4567",
        "+55 11 98123-4567 ext. 12",
        "5511987654321@s.whatsapp.net",
        "+55 11 98123-4567-99999999",
    ],
)
def test_jid_from_phone_rejects_invalid_numbers(phone: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        jid_from_phone(phone)
    assert caught.value.code == "invalid_phone"
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("jid", "phone"),
    [
        ("5511987654321@s.whatsapp.net", "+5511987654321"),
        ("5511987654321:12@s.whatsapp.net", "+5511987654321"),
        ("5511987654321.0:3@s.whatsapp.net", "+5511987654321"),
        ("192234817380569@lid", None),
        ("192234817380569:4@lid", None),
        ("120363151623077576@g.us", None),
        ("status@broadcast", None),
        ("120363168033477807@newsletter", None),
        ("", None),
    ],
)
def test_phone_from_jid_only_for_phone_number_jids(jid: str, phone: str | None) -> None:
    assert phone_from_jid(jid) == phone


def test_phone_from_jid_never_reads_lid_digits_as_phone() -> None:
    lid = "5511987654321@lid"
    assert phone_from_jid(lid) is None
    assert is_lid(lid) is True
    assert is_phone_jid(lid) is False


@pytest.mark.parametrize(
    ("jid", "bare"),
    [
        ("5511987654321:12@s.whatsapp.net", "5511987654321@s.whatsapp.net"),
        ("5511987654321.1:2@s.whatsapp.net", "5511987654321@s.whatsapp.net"),
        ("98765432101234:7@lid", "98765432101234@lid"),
        ("5511987654321:99@hosted", "5511987654321@s.whatsapp.net"),
        ("98765432101234:99@hosted.lid", "98765432101234@lid"),
        ("120363151623077576@g.us", "120363151623077576@g.us"),
        ("status@broadcast", "status@broadcast"),
        ("s.whatsapp.net", "s.whatsapp.net"),
    ],
)
def test_bare_jid_drops_device_and_agent(jid: str, bare: str) -> None:
    assert bare_jid(jid) == bare


@pytest.mark.parametrize(
    ("jid", "group", "lid", "phone", "ignored"),
    [
        ("120363151623077576@g.us", True, False, False, False),
        ("98765432101234@lid", False, True, False, False),
        ("5531988887777@s.whatsapp.net", False, False, True, False),
        ("status@broadcast", False, False, False, True),
        ("1234567890@broadcast", False, False, False, True),
        ("120363168033477807@newsletter", False, False, False, True),
    ],
)
def test_jid_predicates_classify_servers(
    jid: str, group: bool, lid: bool, phone: bool, ignored: bool
) -> None:
    assert (is_group(jid), is_lid(jid), is_phone_jid(jid), is_ignored_chat(jid)) == (
        group,
        lid,
        phone,
        ignored,
    )


@pytest.mark.parametrize(
    ("digits", "variants"),
    [
        ("5511987654321", ("5511987654321", "551187654321")),
        ("551187654321", ("551187654321", "5511987654321")),
        ("+55 84 99123-4567", ("5584991234567", "558491234567")),
        ("558491234567", ("558491234567", "5584991234567")),
        ("551134567890", ("551134567890",)),
        ("5511912345678", ("5511912345678",)),
        ("551067654321", ("551067654321",)),
        ("14155552671", ("14155552671",)),
        ("447700900123", ("447700900123",)),
    ],
)
def test_brazil_variants_follow_the_ninth_digit_rule(
    digits: str, variants: tuple[str, ...]
) -> None:
    assert brazil_variants(digits) == variants
