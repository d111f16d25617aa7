"""Checking a hash chain over stored rows (the ledger's own table or an export)."""
from __future__ import annotations

from typing import Iterable

from blake3 import blake3

from canalis.ledger.canonical import GENESIS_HASH, hash_message
from canalis.ledger.record import VerifyResult


def verify_rows(rows: Iterable[tuple], high_water: int | None = None) -> VerifyResult:
    """Check rows (seq, id, time, type, version, stream, payload_json, prev_hash, hash) in seq order.

    Names the first seq that breaks the chain: a missing seq (gap, or a tail shorter than
    `high_water`, the highest seq ever assigned), a prev_hash that is not the previous
    event's hash, or a hash that does not match the event's content.
    """
    expected, prev, checked = 1, GENESIS_HASH, 0
    for seq, id_, time, type_, version, stream, payload, prev_hash, hash_ in rows:
        if seq != expected:
            if seq < expected:
                reason = f"event {seq} is out of order or duplicated (expected {expected})"
                return VerifyResult(False, checked, seq, reason, expected - 1, prev)
            missing = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
            return VerifyResult(False, checked, expected, f"event(s) {missing} missing: the next stored event is {seq}",
                                expected - 1, prev)
        if prev_hash != prev:
            return VerifyResult(False, checked, seq,
                                f"prev_hash {prev_hash[:16]}… does not match the hash of event {seq - 1} ({prev[:16]}…)",
                                seq - 1, prev)
        try:
            actual = blake3(hash_message(seq, id_, time, type_, version, stream, payload, prev_hash)).hexdigest()
        except (TypeError, ValueError) as e:
            return VerifyResult(False, checked, seq, f"event {seq} cannot be encoded ({e})", seq - 1, prev)
        if actual != hash_:
            return VerifyResult(False, checked, seq,
                                f"content of event {seq} does not match its hash (stored {str(hash_)[:16]}…, "
                                f"computed {actual[:16]}…): a field was altered", seq - 1, prev)
        prev, expected, checked = hash_, expected + 1, checked + 1
    if high_water is not None and high_water > expected - 1:
        return VerifyResult(False, checked, expected,
                            f"events {expected}..{high_water} missing: the ledger once held {high_water} events "
                            "but its tail was truncated", expected - 1, prev)
    return VerifyResult(True, checked, None, None, expected - 1, prev)
