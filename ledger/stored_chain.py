"""Checking the chain over the stored rows of format 2 directly (the fast path of verify).

`chain.verify_rows` checks rows of format 1's text columns and names what is wrong; reading
format 2's compact rows back into that text costs several Python calls per field. This walks
the stored columns themselves and builds each event's hashed text in one step: quoted type
and stream names cached by code, a uuid formatted from its 16 bytes, a time from its
microseconds (the second's text cached), the payload's canonical text as stored or
decompressed, the stored 32-byte hash compared with the computed digest. It answers only
"every event is intact": at the first thing it does not expect (a gap, a code naming
nothing, a value stored in another form, a hash that differs) it gives up, and the caller
walks the chain again with `verify_rows`, which names the event and the reason. Its text
must be exactly `canonical.hash_message`'s (tests/ledger/test_stored_chain.py checks it).
"""
from __future__ import annotations

import json
import time as _time

from blake3 import blake3

from canalis.ledger.canonical import GENESIS_HASH

_quote = json.encoder.encode_basestring


def check_stored(chunks, type_names: dict, stream_names: dict, decompressors: dict):
    """Walk `chunks` (lists of stored rows: seq, id, time, type code, version, stream code,
    payload, dictionary code, hash, in seq order from the first event). Returns (events
    checked, last seq, last hash as hex) when every event is intact, else None."""
    types = {code: _quote(name) for code, name in type_names.items()}
    streams = {code: _quote(name) for code, name in stream_names.items()}
    gmtime, strftime = _time.gmtime, _time.strftime
    expected, prev = 1, GENESIS_HASH
    second, second_text = None, ""
    for rows in chunks:
        for seq, id_, time, tcode, version, scode, payload, dcode, stored in rows:
            if seq != expected or type(version) is not int:
                return None
            if type(id_) is bytes and len(id_) == 16:
                eid = f'"{id_[:4].hex()}-{id_[4:10].hex("-", 2)}-{id_[10:].hex()}"'
            elif type(id_) is str:
                eid = _quote(id_)
            else:
                return None
            if type(time) is int:
                s, us = divmod(time, 1_000_000)
                if s != second:
                    second, second_text = s, strftime("%Y-%m-%dT%H:%M:%S", gmtime(s))
                when = '"%s.%06dZ"' % (second_text, us)
            elif type(time) is str:
                when = _quote(time)
            else:
                return None
            if type(payload) is bytes:
                fn = decompressors.get(dcode)
                if fn is None:
                    return None
                try:
                    payload = fn(payload).decode("utf-8")
                except Exception:
                    return None
            elif type(payload) is not str:
                return None
            t, st = types.get(tcode), streams.get(scode)
            if t is None or st is None:
                return None
            digest = blake3(
                f'{{"id":{eid},"payload":{payload},"prev_hash":"{prev}","seq":{seq},"stream":{st},'
                f'"time":{when},"type":{t},"version":{version}}}'.encode("utf-8")
            ).digest()
            if digest != stored:
                return None
            prev = stored.hex()
            expected += 1
    return expected - 1, expected - 1, prev
