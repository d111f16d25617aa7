"""What the ledger hands back: a recorded event, and the result of verifying the chain.

Both are frozen records (ledger/frozen.py), built by position or keyword as the frozen
dataclasses they were."""
from __future__ import annotations

from canalis.ledger.frozen import Frozen, seal


class Recorded(Frozen):
    """One event as stored, with its payload upcast to the current version of its type.

    `stored_version` is the version the row was written with (the hash covers that one); it
    takes no part in equality and hashing.
    """

    seq: int
    id: str
    time: str
    type: str
    version: int
    stream: str
    payload: dict
    prev_hash: str
    hash: str
    stored_version: int | None = None

    def _values(self) -> tuple:
        """What equality and hashing compare: every field but `stored_version`."""
        d = self.__dict__
        return (d["seq"], d["id"], d["time"], d["type"], d["version"], d["stream"], d["payload"], d["prev_hash"],
                d["hash"])

    def event(self):
        """The typed event (a frozen dataclass of canalis.ledger.events)."""
        from canalis.ledger.events import from_payload

        return from_payload(self.type, self.payload)

    def to_dict(self) -> dict:
        return {
            "seq": self.seq, "id": self.id, "time": self.time, "type": self.type, "version": self.version,
            "stream": self.stream, "payload": self.payload, "prev_hash": self.prev_hash, "hash": self.hash,
        }


def recorded(seq, id, time, type, version, stream, payload, prev_hash, hash, stored_version) -> Recorded:
    """A `Recorded` made without the frozen dataclass's field-by-field `__init__`: the same
    object, for `Ledger.rebuild`, which makes one per event."""
    rec = object.__new__(Recorded)
    rec.__dict__.update(seq=seq, id=id, time=time, type=type, version=version, stream=stream, payload=payload,
                        prev_hash=prev_hash, hash=hash, stored_version=stored_version)
    return rec


seal(Recorded, kw_only=False)


class VerifyResult(Frozen):
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int = 0
    head_hash: str = "0" * 64

    def to_dict(self) -> dict:
        return {
            "ok": self.ok, "checked": self.checked, "first_bad_seq": self.first_bad_seq, "reason": self.reason,
            "head_seq": self.head_seq, "head_hash": self.head_hash,
        }


seal(VerifyResult, kw_only=False)
