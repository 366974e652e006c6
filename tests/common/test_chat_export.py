"""Tests for the WhatsApp "Export chat" parser, against the shared corpus and inline rules."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wacrm_common.chat_export import ExportedMessage, parse_chat_export

CORPUS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
LRM = "\u200e"
NBSP = "\u00a0"
NNBSP = "\u202f"
LOREM = "Lorem ipsum dolor sit amet."
LOREM_TWO_LINES = "Lorem ipsum dolor sit amet,\nconsectetur adipiscing elit. Duis libero."


@pytest.fixture(scope="module")
def chat_export_dir() -> Path:
    folder = CORPUS_DIR / "chat_export"
    if not folder.is_dir():
        pytest.skip(f"../shared/corpus not found: {folder}")
    return folder


def _parse_file(folder: Path, name: str, tz: ZoneInfo | timezone = UTC) -> list[ExportedMessage]:
    # newline="" keeps "\r" so the parser's own CRLF handling is what gets tested.
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return parse_chat_export(handle.read(), tz=tz)


def _msg(author: str, when: str, text: str, line_no: int) -> ExportedMessage:
    return ExportedMessage(author, datetime.fromisoformat(when).replace(tzinfo=UTC), text, line_no)


def _one(text: str, tz: ZoneInfo | timezone = UTC) -> ExportedMessage:
    messages = parse_chat_export(text, tz=tz)
    assert len(messages) == 1, messages
    return messages[0]


# --- corpus files ---------------------------------------------------------------------

EXPECTED_COUNTS = {
    "chatminer__ddmmyy_seconds_blankline.txt": 4,
    "chatminer__ios_brackets_12h_seconds.txt": 4,
    "chatminer__ios_brackets_mmddyy_24h.txt": 7,
    "chatminer__ios_dotted_mmddyy.txt": 4,
    "chatminer__mdyyyy_12h_es_pm.txt": 4,
    "chatminer__mmddyyyy_12h_a_m.txt": 7,
    "chatminer__testlog_mixed_formats.txt": 20,
    "chatminer__unicode_nbsp_emoji_author.txt": 3,
    "langchain__whatsapp_chat.txt": 12,
    "ptBR_android_atendimento.txt": 16,
    "ptBR_android_grupo.txt": 7,
    "ptBR_ios_oficina.txt": 9,
    "pustur__short-chat.txt": 3,
    "sodascience__chat.txt": 9,
    "sodascience__chat_file1.txt": 9,
    "sodascience__chat_file5.txt": 9,
}


def test_parse_chat_export_corpus_has_every_expected_file(chat_export_dir: Path) -> None:
    names = {path.name for path in chat_export_dir.iterdir() if path.suffix == ".txt"}
    assert names == set(EXPECTED_COUNTS)


@pytest.mark.parametrize(("name", "count"), sorted(EXPECTED_COUNTS.items()))
def test_parse_chat_export_corpus_message_count(
    chat_export_dir: Path, name: str, count: int
) -> None:
    assert len(_parse_file(chat_export_dir, name)) == count


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_parse_chat_export_corpus_timestamps_are_utc(chat_export_dir: Path, name: str) -> None:
    for message in _parse_file(chat_export_dir, name, tz=SAO_PAULO):
        assert message.timestamp.tzinfo is UTC


def test_parse_chat_export_ddmmyy_seconds_blankline_file(chat_export_dir: Path) -> None:
    # The blank line 3 sits between two messages: it is dropped as trailing, not kept.
    assert _parse_file(chat_export_dir, "chatminer__ddmmyy_seconds_blankline.txt") == [
        _msg("John Doe", "2021-10-21T15:21:45", LOREM, 1),
        _msg("John Doe", "2021-10-22T15:21:46", LOREM, 2),
        _msg("John-John Doe", "2021-10-23T15:21:47", "Lorem ipsum : dolor sit amet.", 4),
        _msg("Jahn Doe", "2021-10-24T15:21:48", LOREM_TWO_LINES, 5),
    ]


def test_parse_chat_export_ios_brackets_12h_seconds_file(chat_export_dir: Path) -> None:
    # No field > 12 anywhere: day-first default. "13:37 p.m." is already 24-hour.
    assert _parse_file(chat_export_dir, "chatminer__ios_brackets_12h_seconds.txt") == [
        _msg("John Doe", "2022-10-09T23:37:00", LOREM, 1),
        _msg("John Doe", "2022-10-10T12:37:00", LOREM, 2),
        _msg("John-John Doe", "2022-10-11T13:37:00", "Lorem ipsum : dolor sit amet.", 3),
        _msg("Jahn Doe", "2022-10-12T14:37:00", LOREM_TWO_LINES, 4),
    ]


def test_parse_chat_export_ios_brackets_mmddyy_24h_file(chat_export_dir: Path) -> None:
    assert _parse_file(chat_export_dir, "chatminer__ios_brackets_mmddyy_24h.txt") == [
        _msg("John Doe", "2019-01-01T11:25:00", LOREM, 1),
        _msg("John Doe", "2019-01-20T11:23:00", ".", 2),
        _msg("Jahn Doe", "2019-01-30T20:49:00", LOREM_TWO_LINES, 3),
        _msg("John-John Doe", "2020-06-10T15:55:00", "Lorem ipsum : dolor sit amet.", 5),
        _msg("John Doe 🤓", "2021-12-10T10:10:00", "Lorem ipsum 🤓", 8),
        _msg("🤓", "2021-12-20T12:10:00", "Lorem ipsum 🤓", 9),
        _msg("John Doe", "2021-12-30T22:01:00", LOREM_TWO_LINES, 10),
    ]


def test_parse_chat_export_ios_dotted_mmddyy_file(chat_export_dir: Path) -> None:
    assert _parse_file(chat_export_dir, "chatminer__ios_dotted_mmddyy.txt") == [
        _msg("John Doe", "2021-10-21T15:21:45", LOREM, 1),
        _msg("John Doe", "2021-10-22T15:21:46", LOREM, 2),
        _msg("John-John Doe", "2021-10-23T15:21:47", "Lorem ipsum : dolor sit amet.", 3),
        _msg("Jahn Doe", "2021-10-24T15:21:48", LOREM_TWO_LINES, 4),
    ]


def test_parse_chat_export_mdyyyy_12h_es_pm_file(chat_export_dir: Path) -> None:
    assert _parse_file(chat_export_dir, "chatminer__mdyyyy_12h_es_pm.txt") == [
        _msg("John Doe", "2019-09-24T23:30:00", LOREM, 1),
        _msg("John Doe", "2019-11-27T21:30:00", LOREM, 2),
        _msg("John-John Doe", "2019-11-17T21:34:00", "Lorem ipsum : dolor sit amet.", 3),
        _msg("Jahn Doe", "2019-12-24T11:30:00", LOREM_TWO_LINES, 4),
    ]


def test_parse_chat_export_mmddyyyy_12h_a_m_file(chat_export_dir: Path) -> None:
    # Lines 6-7 are system lines ("created group", "You were added").
    assert _parse_file(chat_export_dir, "chatminer__mmddyyyy_12h_a_m.txt") == [
        _msg("John Doe", "2019-01-01T11:25:00", LOREM, 1),
        _msg("John Doe", "2019-01-20T11:23:00", ".", 2),
        _msg("Jahn Doe", "2019-01-30T20:49:00", LOREM_TWO_LINES, 3),
        _msg("John-John Doe", "2020-06-10T15:55:00", "Lorem ipsum : dolor sit amet.", 5),
        _msg("John Doe 🤓", "2021-12-10T10:10:00", "Lorem ipsum 🤓", 8),
        _msg("🤓", "2021-12-20T12:10:00", "Lorem ipsum 🤓", 9),
        _msg("John Doe", "2021-12-30T22:01:00", LOREM_TWO_LINES, 10),
    ]


def test_parse_chat_export_testlog_mixed_formats_file(chat_export_dir: Path) -> None:
    # Month-first file (second fields 24, 17, 18...): "09/10/22" is 10 September 2022;
    # line 11 is the E2E notice, lines 12-13 system lines; lines 27-29 are year-first.
    messages = _parse_file(chat_export_dir, "chatminer__testlog_mixed_formats.txt")
    assert [m.line_no for m in messages] == [1, 2, 3, 5, 14, *range(15, 30)]
    assert messages[0] == _msg("John Doe", "2019-12-24T11:23:00", LOREM, 1)
    assert messages[3] == _msg(
        "Jahn Doe",
        "2020-01-18T14:53:00",
        "Lorem ipsum dolor sit amet,\nconsectetur adipiscing elit.\n"
        "Pellentesque non tincidunt erat.\n"
        "Nullam suscipit diam dolor, non pretium leo semper eu.\n"
        "Aliquam pellentesque facilisis nunc eu rhoncus.\nCras scelerisque neque.",
        5,
    )
    assert messages[4] == _msg("+12 345 578", "2017-07-16T19:13:00", "Lorem ipsum.", 14)
    assert messages[5] == _msg("John Doe", "2019-09-24T23:30:00", "Hello world", 15)
    assert messages[6] == _msg("John Doe", "2019-09-24T11:30:00", "Testing am", 16)
    assert messages[7] == _msg("John Doe", "2019-12-24T23:30:00", "Testing spacing in pm", 17)
    assert [m.timestamp for m in messages[8:11]] == [datetime(2022, 9, 10, 22, 37, tzinfo=UTC)] * 3
    assert [m.text for m in messages[8:11]] == [
        "Testing date and time formats",
        "Testing brackets",
        "Testing date dashes",
    ]
    assert messages[13] == _msg(
        "John-John Doe", "2021-10-24T15:21:43", "Testing dash - in message body", 23
    )
    assert messages[14] == _msg(
        "John Doe", "2022-09-10T22:37:00", f"Testing abnormal{NBSP}unicode", 24
    )
    assert messages[16] == _msg("🤓", "2022-09-10T22:37:00", "Testing emoji 🤓", 26)
    assert messages[-1] == _msg("🤓", "2022-12-24T13:01:00", "Testing emoji 🤓 with yyyy first", 29)


def test_parse_chat_export_unicode_nbsp_emoji_author_file(chat_export_dir: Path) -> None:
    # Same header as testlog lines 24-26, but alone in its file: day-first default.
    assert _parse_file(chat_export_dir, "chatminer__unicode_nbsp_emoji_author.txt") == [
        _msg("John Doe", "2022-10-09T22:37:00", f"Testing abnormal{NBSP}unicode", 1),
        _msg("John Doe 🤓", "2022-10-09T22:37:00", "Testing emoji 🤓", 2),
        _msg("🤓", "2022-10-09T22:37:00", "Testing emoji 🤓", 3),
    ]


def test_parse_chat_export_langchain_file(chat_export_dir: Path) -> None:
    messages = _parse_file(chat_export_dir, "langchain__whatsapp_chat.txt")
    assert [m.line_no for m in messages] == list(range(1, 13))
    assert messages[0] == _msg(
        "User 1",
        "2023-01-22T18:30:00",
        "Hi! Im interested in your bag. Im offering $50. Let me know if you are interested."
        " Thanks!",
        1,
    )
    assert messages[2] == _msg("User 1", "2023-01-23T02:59:00", "How much do you want?", 3)
    assert messages[5] == _msg("User 2", "2023-01-23T03:01:00", "<Media omitted>", 6)
    assert messages[10] == _msg("User 2", "2023-01-23T03:19:00", "Bye!", 11)
    # "3:22_AM" is read as a header: its own message by User 1, not part of "Bye!".
    assert messages[11] == _msg(
        "User 1", "2023-01-23T03:22:00", "And let me know if anything changes", 12
    )


def test_parse_chat_export_ptbr_android_atendimento_file(chat_export_dir: Path) -> None:
    messages = _parse_file(chat_export_dir, "ptBR_android_atendimento.txt")
    assert [m.line_no for m in messages] == [2, 3, 4, 5, 6, 7, 8, *range(11, 20)]
    assert messages[0] == _msg(
        "Mariana Souza",
        "2026-11-12T09:02:00",
        "Bom dia! Vocês ainda têm o sofá retrátil de 3 lugares? \U0001f6cb\ufe0f",
        2,
    )
    assert messages[4] == _msg("Loja Casa Viva", "2026-11-12T09:07:00", "<Mídia oculta>", 6)
    assert messages[6] == _msg(
        "Mariana Souza",
        "2026-11-12T09:11:00",
        "Amei o cinza 😍😍\nQual o prazo de entrega para Campinas?\nE o frete?",
        8,
    )
    assert messages[9] == _msg(
        "Mariana Souza",
        "2026-11-12T09:16:00",
        "Consigo parcelar em 10x sem juros? <Mensagem editada>",
        13,
    )
    assert messages[11] == _msg("Mariana Souza", "2026-11-12T09:21:00", "👍🏽", 15)
    assert messages[-1] == _msg("Mariana Souza", "2026-11-13T08:31:00", "Eu que agradeço!", 19)


def test_parse_chat_export_ptbr_android_atendimento_sao_paulo(chat_export_dir: Path) -> None:
    messages = _parse_file(chat_export_dir, "ptBR_android_atendimento.txt", tz=SAO_PAULO)
    assert messages[0].timestamp == datetime(2026, 11, 12, 12, 2, tzinfo=UTC)
    assert messages[-2] == _msg(
        "Loja Casa Viva",
        "2026-11-13T11:30:00",
        "Pagamento confirmado, Mariana. Obrigado pela compra! 🎉",
        18,
    )
    assert messages[-1].timestamp == datetime(2026, 11, 13, 11, 31, tzinfo=UTC)


def test_parse_chat_export_ptbr_android_grupo_file(chat_export_dir: Path) -> None:
    # E2E notice, "criou o grupo", "adicionou", "saiu" and "mudou o nome" are skipped.
    # Fields 01/12 and 02/12 never exceed 12: day-first default, so 1 December 2026.
    assert _parse_file(chat_export_dir, "ptBR_android_grupo.txt") == [
        _msg(
            "Ana Lima",
            "2026-12-01T18:03:00",
            "Pessoal, vamos fechar os pedidos de cestas por aqui 🎄",
            5,
        ),
        _msg("+55 11 98123-4567", "2026-12-01T18:05:00", "Quero 2 cestas tipo B", 6),
        _msg(
            "+55 21 97654-3210",
            "2026-12-01T18:06:00",
            "Eu quero 1 tipo A e 1 tipo C, por favor",
            7,
        ),
        _msg(
            "Ana Lima",
            "2026-12-01T18:10:00",
            "Anotado!\n- 2x B (final 4567)\n- 1x A + 1x C (final 3210)",
            8,
        ),
        _msg(
            "+55 21 97654-3210",
            "2026-12-01T18:12:00",
            "IMG-20261201-WA0007.jpg (arquivo anexado)",
            11,
        ),
        _msg("+55 21 97654-3210", "2026-12-01T18:12:00", "Esse é o endereço de entrega", 12),
        _msg("Ana Lima", "2026-12-02T09:01:00", "Pedidos fechados, obrigada a todos!", 15),
    ]


def test_parse_chat_export_ptbr_ios_oficina_file(chat_export_dir: Path) -> None:
    # CRLF file; line 1 is the E2E notice written as a message from the chat's name.
    messages = _parse_file(chat_export_dir, "ptBR_ios_oficina.txt", tz=SAO_PAULO)
    assert [m.line_no for m in messages] == [2, 3, 4, 5, 8, 9, 10, 11, 12]
    assert messages[0] == _msg(
        "Carlos Henrique", "2026-12-03T13:14:05", "Oi, o carro já ficou pronto?", 2
    )
    assert messages[1] == _msg(
        "Oficina do Zé",
        "2026-12-03T13:20:41",
        "<anexado: 00000003-AUDIO-2026-12-03-10-20-41.opus>",
        3,
    )
    assert messages[3] == _msg(
        "Oficina do Zé",
        "2026-12-03T13:25:33",
        "Claro. Troquei as pastilhas de freio e o óleo.\nFalta só alinhar e balancear.\n"
        "Fica pronto hoje às 17h.",
        5,
    )
    # Marks inside a line are kept; only those at a line's start are removed.
    assert messages[5] == _msg(
        "Oficina do Zé",
        "2026-12-03T13:26:15",
        f"Orçamento.pdf {LRM}\u2022 {LRM}2 páginas {LRM}<anexado: 00000006-Orçamento.pdf>",
        9,
    )
    assert messages[6] == _msg("Carlos Henrique", "2026-12-03T13:30:00", "Valeu, Zé! 🙏", 10)
    assert messages[7] == _msg(
        "Carlos Henrique",
        "2026-12-03T13:31:12",
        "Localização: https://maps.google.com/?q=-22.905560,-47.060830",
        11,
    )
    assert messages[-1] == _msg(
        "Oficina do Zé", "2026-12-03T20:02:45", "Carlos, pode vir buscar 🚗✅", 12
    )


def test_parse_chat_export_pustur_short_chat_file(chat_export_dir: Path) -> None:
    # All fields <= 12: day-first default, even though month-first would read monotonic.
    assert _parse_file(chat_export_dir, "pustur__short-chat.txt") == [
        _msg("Sample User", "2017-03-06T00:45:00", "This is a test message", 3),
        _msg("TestBot", "2017-05-08T01:48:00", "Hey I'm a test too!", 4),
        _msg("+410123456789", "2017-04-09T01:50:00", "How are you?\n\nIs everything alright?", 5),
    ]


SODASCIENCE_EXPECTED = [
    ("person1", "2022-03-16T15:20:25", "Hi shiva!"),
    ("person2", "2022-03-16T15:25:38", "Hi 👋"),
    ("person3", "2022-03-16T15:26:48", "Hoi!"),
    ("person2", "2022-03-16T18:39:29", "https://youtu.be/KBmUTY6mK_E"),
    ("person1", "2022-03-16T18:35:51", "Location: https://maps.google.com/?q=52.089451,5.108469"),
    (
        "person4",
        "2022-03-20T20:08:51",
        "I\u2019m about to generate some very random messages so that I can make some"
        " screenshots for the explanation to participants",
    ),
    (
        "person1",
        "2022-03-24T20:19:38",
        "@user3 if you remove your Profile picture for a moment I will redo the screenshots 😁",
    ),
    ("person2", "2022-03-26T18:52:15", "Well done Utrecht 😁"),
    ("person4", "2020-07-14T22:05:54", "👍Bedankt"),
]


@pytest.mark.parametrize("name", ["sodascience__chat.txt", "sodascience__chat_file1.txt"])
def test_parse_chat_export_sodascience_24h_files(chat_export_dir: Path, name: str) -> None:
    # LF and CRLF copies of one iOS chat; file order is kept even where it is not chronological.
    expected = [
        _msg(author, when, text, line_no)
        for line_no, (author, when, text) in enumerate(SODASCIENCE_EXPECTED, start=2)
    ]
    assert _parse_file(chat_export_dir, name) == expected


def test_parse_chat_export_sodascience_12h_file(chat_export_dir: Path) -> None:
    # Line 2 ends "Hi " with LF only, then a blank line, then "shiva!\r\n".
    messages = _parse_file(chat_export_dir, "sodascience__chat_file5.txt")
    assert messages[0] == _msg("person1", "2022-03-16T15:20:25", "Hi \n\nshiva!", 2)
    expected_rest = [
        _msg(author, when, text, line_no)
        for line_no, (author, when, text) in enumerate(SODASCIENCE_EXPECTED[1:], start=5)
    ]
    assert messages[1:] == expected_rest


# --- inline rules ---------------------------------------------------------------------


def test_parse_chat_export_empty_text_has_no_messages() -> None:
    assert parse_chat_export("") == []


def test_parse_chat_export_crlf_lines() -> None:
    text = "12/11/2026 09:02 - Ana: oi\r\ntudo bem?\r\n\r\nabraço\r\n13/11/2026 10:00 - Bia: ok\r\n"
    assert parse_chat_export(text) == [
        _msg("Ana", "2026-11-12T09:02:00", "oi\ntudo bem?\n\nabraço", 1),
        _msg("Bia", "2026-11-13T10:00:00", "ok", 5),
    ]


def test_parse_chat_export_trailing_blank_lines_dropped() -> None:
    text = "12/11/2026 09:02 - Ana: oi\n\n \n12/11/2026 09:03 - Bia: ok\n\n"
    assert [m.text for m in parse_chat_export(text)] == ["oi", "ok"]


@pytest.mark.parametrize(
    "clock",
    [
        "3:04 PM",
        f"3:04{NNBSP}PM",
        f"3:04{NBSP}PM",
        "3:04 pm",
        "3:04 p.m.",
        "3:04 p. m.",
        f"3:04{NBSP}p.{NBSP}m.",
        f"3:04{NNBSP}p.{NNBSP}m.",
        "15:04",
        "03:04:00 PM",
    ],
)
def test_parse_chat_export_twelve_hour_markers(clock: str) -> None:
    message = _one(f"1/2/23, {clock} - Bob: hi")
    assert message.timestamp == datetime(2023, 2, 1, 15, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("clock", "hour"),
    [
        ("12:05 a.m.", 0),
        ("12:05 AM", 0),
        ("12:05 p.m.", 12),
        ("12:05 PM", 12),
        ("00:05 a. m.", 0),
        ("13:05 p.m.", 13),
        ("11:05 a. m.", 11),
        ("1:05 PM", 13),
    ],
)
def test_parse_chat_export_twelve_hour_edge_hours(clock: str, hour: int) -> None:
    message = _one(f"[05/06/2024 {clock}] Bob: hi")
    assert message.timestamp == datetime(2024, 6, 5, hour, 5, tzinfo=UTC)


def test_parse_chat_export_day_first_when_a_first_field_exceeds_12() -> None:
    text = "02/03/2020 10:00 - A: x\n13/03/2020 10:00 - A: y\n"
    assert [m.timestamp.date().isoformat() for m in parse_chat_export(text)] == [
        "2020-03-02",
        "2020-03-13",
    ]


def test_parse_chat_export_month_first_when_a_second_field_exceeds_12() -> None:
    text = "02/03/2020 10:00 - A: x\n02/13/2020 10:00 - A: y\n"
    assert [m.timestamp.date().isoformat() for m in parse_chat_export(text)] == [
        "2020-02-03",
        "2020-02-13",
    ]


def test_parse_chat_export_day_first_by_default_when_undecided() -> None:
    message = _one("02/03/20, 10:00 - A: x")
    assert message.timestamp == datetime(2020, 3, 2, 10, 0, tzinfo=UTC)


def test_parse_chat_export_line_with_own_proof_overrides_file_order() -> None:
    # The file is day-first (25/12), but line 3's 12/31 can only be month-first.
    text = "25/12/2020 10:00 - A: x\n01/02/2021 10:00 - A: y\n12/31/2021 10:00 - A: z\n"
    assert [m.timestamp.date().isoformat() for m in parse_chat_export(text)] == [
        "2020-12-25",
        "2021-02-01",
        "2021-12-31",
    ]


def test_parse_chat_export_year_first_dates() -> None:
    message = _one("2022/12/04, 13:01. - A: x")
    assert message.timestamp == datetime(2022, 12, 4, 13, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "line",
    [
        "09-10-2022 10:37 - A: x",
        "09.10.22, 10:37 - A: x",
        "[09.10.22, 10:37:00] A: x",
        "09/10/2022, 10:37 - A: x",
    ],
)
def test_parse_chat_export_date_separators_and_two_digit_years(line: str) -> None:
    assert _one(line).timestamp == datetime(2022, 10, 9, 10, 37, tzinfo=UTC)


@pytest.mark.parametrize(
    "line",
    [
        "12/24/14, 17:08 - You were added",
        '12/24/14, 17:08 - +12 345 578 created group "Groupname"',
        '01/12/2026 18:00 - Ana Lima criou o grupo "Pedidos"',
        "01/12/2026 18:01 - Ana Lima adicionou você",
        "02/12/2026 07:45 - +55 11 98123-4567 saiu",
        '02/12/2026 09:00 - Ana Lima mudou o nome do grupo de "A: B" para "C"',
        "02/12/2026 09:00 - Ana Lima mudou o horário para 10:30",
        "7/6/17, 19:25 - Messages and calls are end-to-end encrypted. No one outside of this"
        " chat, not even WhatsApp, can read or listen to them. Tap to learn more.",
        "06/03/2017, 00:45 - Messages to this group are now secured with end-to-end"
        " encryption. Tap for more info.",
        "12/11/2026 09:02 - As mensagens e ligações são protegidas com a criptografia de"
        " ponta a ponta. Somente as pessoas que fazem parte da conversa podem ler.",
        f"[03/12/2026 10:14:05] Oficina do Zé: {LRM}As mensagens e ligações são protegidas"
        " com a criptografia de ponta a ponta.",
        "[16/03/2022, 15:10:17] Messages and calls are end-to-end encrypted.",
    ],
)
def test_parse_chat_export_system_lines_skipped(line: str) -> None:
    assert parse_chat_export(f"{line}\n13/12/2026 18:03 - Ana: oi\n") == [
        _msg("Ana", "2026-12-13T18:03:00", "oi", 2)
    ]


def test_parse_chat_export_lines_after_system_line_skipped() -> None:
    text = "01/12/2026 18:00 - Ana: oi\n01/12/2026 18:01 - Ana saiu\nsobra\n"
    assert parse_chat_export(text) == [_msg("Ana", "2026-12-01T18:00:00", "oi", 1)]


def test_parse_chat_export_lines_before_first_header_ignored() -> None:
    text = "preamble\n\n01/12/2026 18:00 - Ana: oi\n"
    assert parse_chat_export(text) == [_msg("Ana", "2026-12-01T18:00:00", "oi", 3)]


def test_parse_chat_export_author_is_text_before_first_colon_space() -> None:
    message = _one("01/12/2026 18:00 - Zé - Oficina 🚗: nota: 10:30 ok")
    assert (message.author, message.text) == ("Zé - Oficina 🚗", "nota: 10:30 ok")


@pytest.mark.parametrize(
    ("rest", "author", "body"),
    [
        ("John Doe:.", "John Doe", "."),
        ("John Doe:", "John Doe", ""),
        ("John Doe: ", "John Doe", ""),
    ],
)
def test_parse_chat_export_glued_or_empty_body(rest: str, author: str, body: str) -> None:
    message = _one(f"[01/20/19 11:23] {rest}")
    assert (message.author, message.text) == (author, body)


def test_parse_chat_export_author_with_balanced_quotes_kept() -> None:
    message = _one('01/12/2026 18:00 - Jo "Mecânico": oi')
    assert (message.author, message.text) == ('Jo "Mecânico"', "oi")


def test_parse_chat_export_underscore_before_meridiem_is_a_header() -> None:
    text = "1/23/23, 3:19 AM - User 2: Bye!\n1/23/23, 3:22_AM - User 1: And one more"
    assert parse_chat_export(text) == [
        _msg("User 2", "2023-01-23T03:19:00", "Bye!", 1),
        _msg("User 1", "2023-01-23T03:22:00", "And one more", 2),
    ]


@pytest.mark.parametrize(
    "malformed",
    [
        "1/23/23, 3:22 AM User 1: no dash",
        "1/23/23 - User 1: no time",
        "31/02/2023, 3:22 - User 1: no such day",
        "13/13/2023, 3:22 - User 1: no date order fits",
        "1/23/23, 25:22 - User 1: no such hour",
        "[1/23/23, 3:22 - User 1: unclosed bracket",
    ],
)
def test_parse_chat_export_malformed_header_is_continuation(malformed: str) -> None:
    message = _one(f"1/23/23, 3:19 AM - User 2: Bye!\n{malformed}")
    assert message.text == f"Bye!\n{malformed}"


def test_parse_chat_export_invisible_marks_stripped() -> None:
    text = (
        f"\ufeff{LRM}[03/12/2026 10:31:12] \u202a{LRM}Carlos\u202c: {LRM}Local{LRM}\n"
        f"{LRM}\u200fsegunda linha\n"
    )
    message = _one(text)
    assert message.author == "Carlos"
    assert message.text == f"Local{LRM}\nsegunda linha"


def test_parse_chat_export_converts_zone_to_utc() -> None:
    assert _one("12/11/2026 21:30 - Ana: oi", tz=SAO_PAULO).timestamp == datetime(
        2026, 11, 13, 0, 30, tzinfo=UTC
    )
    plus_two = timezone(timedelta(hours=2))
    assert _one("12/11/2026 01:30 - Ana: oi", tz=plus_two).timestamp == datetime(
        2026, 11, 11, 23, 30, tzinfo=UTC
    )
