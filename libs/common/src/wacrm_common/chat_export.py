"""Parses WhatsApp "Export chat" text files (Android and iOS, many locales) into messages."""

# Rules this parser follows (the conformance suite is ../shared/corpus/chat_export/):
#
# Headers. A message starts on a line (after any leading invisible marks) shaped like
#   Android: ``DATE[,] TIME[ MERIDIEM][.] - REST``   iOS: ``[DATE[,] TIME[ MERIDIEM]] REST``
#   DATE is A/B/YY(YY) or YYYY/M/D with one separator ("/", "." or "-") used twice;
#   TIME is H:MM or H:MM:SS; MERIDIEM is AM/PM, a.m./p.m. or a. m./p. m. (any case),
#   separated by a space, NBSP (U+00A0), narrow NBSP (U+202F) or an underscore.
#   The underscore is accepted because real exports contain "3:22_AM" (langchain corpus
#   file): a careful reader sees a new message by User 1 there, not a line of the previous
#   message by User 2. Any other line, including one whose header does not fit this shape
#   or whose date/time is impossible, is a continuation of the message above it.
#
# Date order (A/B/YY), decided once per file from every header line that is not year-first:
#   any A > 12 -> day-first; else any B > 12 -> month-first; else day-first (pt-BR, the
#   primary users, write day-first). A line whose own fields prove an order (A > 12 or
#   B > 12) uses that order even when the file's default says otherwise, so files mixing
#   several phone settings still parse. Two-digit years are 20YY.
#
# 12-hour clocks: "12 a.m." is 00, "12 p.m." is 12, 1-11 p.m. add 12. Hours 0 and 13-23
#   are already 24-hour ("00:08 a. m.", "13:37 p.m." appear in real exports) and are kept.
#
# Authors and system lines. REST is "Author: body": the author is the text before the first
#   ": ". Without any ": ", a colon glued to the body ("John Doe:.") still separates author
#   and body unless it is followed by a digit or "/" (a clock time or a URL in a system
#   line). A REST with no author, or whose author has unbalanced double quotes (a system
#   line quoting a group name that contains ": "), is a system line and is skipped, e.g.
#   "You were added", 'Ana Lima criou o grupo "X"'. The end-to-end-encryption notice is
#   skipped too, also when iOS writes it as a message from the chat's own name; it is
#   recognised by its opening ("Messages"/"As mensagens"/"Los mensajes" ... end-to-end
#   encryption on the same line), so a user's message worded that way would be lost too.
#   Lines following a skipped line belong to it and are skipped with it; lines before the
#   first header belong to no message and are ignored.
#
# Bodies are kept verbatim (media markers, "<Mensagem editada>", NBSPs and emoji included)
#   except: a trailing "\r" is removed from every line, invisible marks are removed from
#   the start of every line, and blank lines at the end of a message are dropped (WhatsApp
#   trims what is sent, so they come from the file's layout); inner blank lines are kept.
#   Messages are returned in file order, which is not always chronological.

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from zoneinfo import ZoneInfo

# Directional and byte-order marks that WhatsApp (mostly iOS) sprinkles into exports.
_INVISIBLE_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\ufeff"
_REMOVE_MARKS = str.maketrans("", "", _INVISIBLE_MARKS)
_SPACE = "[\\x20\\u00a0\\u202f]"

_HEADER = re.compile(
    rf"""
    (?P<bracket>\[)?
    (?:
        (?P<ymd_year>\d{{4}})(?P<ymd_sep>[./-])(?P<ymd_month>\d{{1,2}})(?P=ymd_sep)
        (?P<ymd_day>\d{{1,2}})
      |
        (?P<first>\d{{1,2}})(?P<sep>[./-])(?P<second>\d{{1,2}})(?P=sep)
        (?P<year>\d{{4}}|\d{{2}})
    )
    ,?{_SPACE}+
    (?P<hour>\d{{1,2}}):(?P<minute>\d{{2}})(?::(?P<sec>\d{{2}}))?
    (?:[\x20\u00a0\u202f_]?(?P<meridiem>[ap])\.?{_SPACE}?m\.?)?
    \.?
    (?(bracket)\]{_SPACE}|{_SPACE}*-{_SPACE})
    """,
    re.VERBOSE | re.IGNORECASE,
)

# Only the notice's opening words are matched, so its wording may change after them.
_E2E_NOTICE = re.compile(
    r"(?:Messages|As mensagens|Los mensajes)\b.*?"
    r"(?:end-to-end encrypt|criptografia de ponta a ponta|cifrad[oa]s? de extremo a extremo)",
    re.IGNORECASE,
)

# Fallback author split for "Author:body" lines that have no ": " at all.
_GLUED_AUTHOR = re.compile(r"(?P<author>[^:]+):(?P<body>(?![\d/]).*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ExportedMessage:
    """One chat message as read from an export file."""

    author: str
    timestamp: datetime
    text: str
    line_no: int


@dataclass(slots=True)
class _Draft:
    author: str
    timestamp: datetime
    line_no: int
    lines: list[str] = field(default_factory=list)

    def finish(self) -> ExportedMessage:
        lines = list(self.lines)
        while len(lines) > 1 and not lines[-1].strip():
            lines.pop()
        return ExportedMessage(self.author, self.timestamp, "\n".join(lines), self.line_no)


MIN_YEAR, MAX_YEAR = 2009, 2100


def parse_chat_export(text: str, *, tz: ZoneInfo | timezone = UTC) -> list[ExportedMessage]:
    """Parse an export's text; ``tz`` is the zone its clock times are in (result is UTC)."""
    lines = [raw.removesuffix("\r") for raw in text.split("\n")]
    matches = [_HEADER.match(_strip_leading_marks(line)) for line in lines]
    file_day_first = _file_is_day_first(matches)

    messages: list[ExportedMessage] = []
    draft: _Draft | None = None  # None before the first header and after a skipped line
    for line_no, (line, match) in enumerate(zip(lines, matches, strict=True), start=1):
        timestamp = _header_timestamp(match, file_day_first, tz) if match else None
        if match is None or timestamp is None:
            if draft is not None:
                draft.lines.append(_strip_leading_marks(line))
            continue
        if draft is not None:
            messages.append(draft.finish())
        draft = _start_message(_strip_leading_marks(line)[match.end() :], timestamp, line_no)
    if draft is not None:
        messages.append(draft.finish())
    return messages


def _strip_leading_marks(line: str) -> str:
    return line.lstrip(_INVISIBLE_MARKS)


def _file_is_day_first(matches: list[re.Match[str] | None]) -> bool:
    pairs = [(int(m["first"]), int(m["second"])) for m in matches if m is not None and m["first"]]
    if any(first > 12 for first, _ in pairs):
        return True
    return not any(second > 12 for _, second in pairs)


def _line_is_day_first(first: int, second: int, file_day_first: bool) -> bool | None:
    """The order this line's own fields prove, else the file's; None if no order fits."""
    if first > 12 and second > 12:
        return None
    if first > 12:
        return True
    if second > 12:
        return False
    return file_day_first


def _header_timestamp(
    match: re.Match[str], file_day_first: bool, tz: ZoneInfo | timezone
) -> datetime | None:
    if match["ymd_year"]:
        year, month, day = int(match["ymd_year"]), int(match["ymd_month"]), int(match["ymd_day"])
    else:
        first, second = int(match["first"]), int(match["second"])
        day_first = _line_is_day_first(first, second, file_day_first)
        if day_first is None:
            return None
        day, month = (first, second) if day_first else (second, first)
        year = int(match["year"])
        year += 2000 if year < 100 else 0
    hour = _to_24h(int(match["hour"]), match["meridiem"])
    # WhatsApp did not exist outside these years; a header claiming otherwise is text.
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        local = datetime(
            year, month, day, hour, int(match["minute"]), int(match["sec"] or 0), tzinfo=tz
        )
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _to_24h(hour: int, meridiem: str | None) -> int:
    if meridiem is None or hour == 0 or hour > 12:
        return hour
    if meridiem.lower() == "a":
        return 0 if hour == 12 else hour
    return hour if hour == 12 else hour + 12


def _start_message(rest: str, timestamp: datetime, line_no: int) -> _Draft | None:
    """A draft for a header's remainder, or None for a system line or the E2E notice."""
    if _is_e2e_notice(rest):
        return None
    split = _split_author(rest)
    if split is None:
        return None
    author, body = split
    body = _strip_leading_marks(body)
    if _is_e2e_notice(body):
        return None
    return _Draft(author, timestamp, line_no, [body])


def _split_author(rest: str) -> tuple[str, str] | None:
    index = rest.find(": ")
    if index >= 0:
        raw_author, body = rest[:index], rest[index + 2 :]
    elif glued := _GLUED_AUTHOR.fullmatch(rest):
        raw_author, body = glued["author"], glued["body"]
    else:
        return None
    author = raw_author.translate(_REMOVE_MARKS).strip()
    if not author or _has_unbalanced_quotes(author):
        return None
    return author, body


def _has_unbalanced_quotes(author: str) -> bool:
    return author.count('"') % 2 == 1 or author.count("\u201c") != author.count("\u201d")


def _is_e2e_notice(text: str) -> bool:
    return _E2E_NOTICE.match(_strip_leading_marks(text).strip()) is not None
