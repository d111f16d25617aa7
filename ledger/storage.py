"""How events are stored (ledger format 2, docs/events.md "The events table").

The chain is defined over text (ids, times, hashes as text; see canonical.py); the file
stores the same values compactly and gives the text back exactly:

- `id`: the 16 bytes of a lowercase uuid, as a BLOB; any other id as TEXT, verbatim;
- `time`: microseconds since 1970-01-01T00:00:00Z, as an INTEGER, for a time written as
  `YYYY-MM-DDTHH:MM:SS.ffffffZ` (years 1970-9999); any other time as TEXT, verbatim;
- `type` and `stream`: small integers naming rows of `event_types` and `streams`;
- `hash`: the 32 bytes of the BLAKE3 digest, as a BLOB (64 lowercase hex characters as text);
  any other stored hash as TEXT, verbatim;
- `prev_hash` is not stored: it is the hash of the previous stored event.

`id`, `time` and `hash` are declared without a type (no affinity): each value keeps the
storage class it was written with, which says how to read it back.

The view `events` shows the rows with the text columns of format 1, so that SQL written
against format 1 (reads, and the stock-tool check of the chain) keeps working.
"""
from __future__ import annotations

import json
import re
import time as _time

from canalis.ledger.canonical import canonical_json
from canalis.ledger.payloads import SCHEMA as PAYLOAD_SCHEMA

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS event_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id NOT NULL,
        time NOT NULL,
        type INTEGER NOT NULL,
        version INTEGER NOT NULL,
        stream INTEGER NOT NULL,
        payload NOT NULL,
        dictionary INTEGER,
        hash NOT NULL
    )""",
    *PAYLOAD_SCHEMA,
    "CREATE TABLE IF NOT EXISTS event_types (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS streams (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE INDEX IF NOT EXISTS event_log_stream ON event_log (stream, seq)",
    """CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON event_log
       BEGIN SELECT RAISE(ABORT, 'ledger events are append-only; record a correcting event instead'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON event_log
       BEGIN SELECT RAISE(ABORT, 'ledger events are append-only; record a correcting event instead'); END""",
    "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

_HEX_ID = ("lower(substr(hex({c}), 1, 8) || '-' || substr(hex({c}), 9, 4) || '-' || substr(hex({c}), 13, 4)"
           " || '-' || substr(hex({c}), 17, 4) || '-' || substr(hex({c}), 21))")
_TEXT_TIME = ("strftime('%Y-%m-%dT%H:%M:%S', {c} / 1000000, 'unixepoch') || printf('.%06dZ', {c} % 1000000)")

#: format 1's columns, in text, over the stored rows (docs/events.md)
VIEW = f"""CREATE VIEW IF NOT EXISTS events AS SELECT
    e.seq AS seq,
    CASE WHEN typeof(e.id) = 'blob' THEN {_HEX_ID.format(c='e.id')} ELSE e.id END AS id,
    CASE WHEN typeof(e.time) = 'integer' THEN {_TEXT_TIME.format(c='e.time')} ELSE e.time END AS time,
    t.name AS type, e.version AS version, s.name AS stream, e.payload AS payload,
    coalesce((SELECT CASE WHEN typeof(p.hash) = 'blob' THEN lower(hex(p.hash)) ELSE p.hash END
              FROM event_log AS p WHERE p.seq < e.seq ORDER BY p.seq DESC LIMIT 1), '{'0' * 64}') AS prev_hash,
    CASE WHEN typeof(e.hash) = 'blob' THEN lower(hex(e.hash)) ELSE e.hash END AS hash
FROM event_log AS e JOIN event_types AS t ON t.code = e.type JOIN streams AS s ON s.code = e.stream"""

#: the stored columns, in the order `decode_row` takes them
STORED_COLUMNS = "e.seq, e.id, e.time, t.name, e.version, s.name, e.payload, e.dictionary, e.hash"
FROM_STORED = "event_log AS e JOIN event_types AS t ON t.code = e.type JOIN streams AS s ON s.code = e.stream"

_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z")


def _exact_bytes(h: str, size: int) -> bytes | None:
    """The `size` bytes `h` spells in lowercase hex, or None when it spells anything else (upper
    case, whitespace, another length): stored binary must read back as exactly the same text."""
    try:
        b = bytes.fromhex(h)
    except ValueError:
        return None
    return b if len(b) == size and b.hex() == h else None


def encode_id(text):
    if type(text) is str and len(text) == 36 and text[8] == text[13] == text[18] == text[23] == "-":
        b = _exact_bytes(text[:8] + text[9:13] + text[14:18] + text[19:23] + text[24:], 16)
        if b is not None:
            return b
    return text


def decode_id(value) -> str:
    if type(value) is bytes:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return value


def encode_hash(text):
    if type(text) is str and len(text) == 64:
        b = _exact_bytes(text, 32)
        if b is not None:
            return b
    return text


def encode_digests(value):
    """A JSON object mapping names to 64-hex digests (a step's outputs) as bytes: for each
    name in sorted order, the length of its UTF-8 bytes (one byte), those bytes, and the
    digest's 32 bytes. Any other value (or a name over 255 bytes) as its canonical JSON text."""
    if type(value) is dict:
        parts = []
        for name in sorted(value):
            digest = encode_hash(value[name])
            raw = name.encode("utf-8", "surrogatepass") if type(name) is str else None
            if type(digest) is not bytes or raw is None or len(raw) > 255:
                break
            parts += (bytes((len(raw),)), raw, digest)
        else:
            return b"".join(parts)
    return canonical_json(value)


def decode_digests(value):
    if type(value) is bytes:
        out, i = {}, 0
        while i < len(value):
            n = value[i]
            out[value[i + 1:i + 1 + n].decode("utf-8", "surrogatepass")] = value[i + 1 + n:i + 33 + n].hex()
            i += 33 + n
        return out
    return json.loads(value)


def decode_hash(value) -> str:
    return value.hex() if type(value) is bytes else value


# The last second's (text, value) and (value, text): one tuple each, replaced whole, so that a
# thread never reads the text of one second with the value of another.
_encoded_second: list = [(None, 0)]


def encode_time(text):
    """Microseconds since the epoch when `text` is a time canalis writes and reads back
    exactly; otherwise the text itself. (The last second's text and value are kept: times
    come in runs of the same second.)"""
    if type(text) is not str or len(text) != 27:
        return text
    fraction = text[20:26]
    if text[19] != "." or text[26] != "Z" or not (fraction.isascii() and fraction.isdigit()):
        return text
    prefix = text[:19]
    cached = _encoded_second[0]
    if prefix == cached[0]:
        seconds = cached[1]
    else:
        m = _TIME.fullmatch(text)
        if m is None or not "1970" <= m.group(1) <= "9999":
            return text
        try:
            # from the matched fields (no strptime: its parser is an import and a dozen regular
            # expressions); a field out of range raises or fails the round trip below
            seconds = timegm(*map(int, m.groups()[:6]))
        except (ValueError, OverflowError):
            return text
        if decode_time(seconds * 1_000_000)[:19] != prefix:
            return text
        _encoded_second[0] = (prefix, seconds)
    return seconds * 1_000_000 + int(fraction)


_second: list = [(None, "")]


def timegm(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    """`calendar.timegm` of a UTC date and time, by the civil-calendar arithmetic of the
    proleptic Gregorian calendar (days from 1970-01-01), without importing `calendar` and the
    `datetime` it uses. Fields out of range give a number whose decoding differs (the caller
    checks the round trip)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return ((days * 24 + hour) * 60 + minute) * 60 + second


def decode_time(value) -> str:
    if type(value) is int:
        s, us = divmod(value, 1_000_000)
        cached = _second[0]
        if cached[0] == s:
            text = cached[1]
        else:
            text = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(s))
            _second[0] = (s, text)
        return text + ".%06dZ" % us
    return value


def decode_row(row, prev: str, decode_payload) -> tuple:
    """A stored row (STORED_COLUMNS) as format 1's text row
    (seq, id, time, type, version, stream, payload, prev_hash, hash); `decode_payload`
    (payloads.Payloads.decoder) turns a compressed payload back into its text."""
    seq, id_, time, type_, version, stream, payload, code, h = row
    return (seq, decode_id(id_), decode_time(time), type_, version, stream, decode_payload(payload, code), prev,
            decode_hash(h))


def code_of(conn, table: str, name: str, known: dict | None = None) -> int:
    """The small integer naming `name` in `event_types` or `streams` (added when new).
    `known` caches codes for the current transaction only: a code assigned in a transaction
    that is rolled back must not outlive it."""
    if known is not None and name in known:
        return known[name]
    row = conn.execute(f"SELECT code FROM {table} WHERE name = ?", (name,)).fetchone()
    code = row[0] if row else conn.execute(f"INSERT INTO {table} (name) VALUES (?)", (name,)).lastrowid
    if known is not None:
        known[name] = code
    return code


def insert_text_rows(conn, rows) -> None:
    """Store rows given as format 1's text columns (seq, id, time, type, version, stream,
    payload, hash: without prev_hash), encoded as above. The upgrade from format 1 uses it,
    and so can a tool that writes a ledger the way an older canalis did."""
    types: dict = {}
    streams: dict = {}
    conn.executemany(
        "INSERT INTO event_log (seq, id, time, type, version, stream, payload, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(seq, encode_id(id_), encode_time(time), code_of(conn, "event_types", type_, types), version,
          code_of(conn, "streams", stream, streams), payload, encode_hash(h))
         for seq, id_, time, type_, version, stream, payload, h in rows])
