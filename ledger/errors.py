"""Errors of the ledger. Each message names the thing and what to do.

`LedgerError` is the base; the face turns it into a one-line CLI message.
"""
from __future__ import annotations


class LedgerError(Exception):
    """Base of every ledger error."""


class EventValidationError(LedgerError):
    """An event (or a payload) does not fit its declared type; the message names the field."""


class UnknownEventType(EventValidationError):
    """No event class is registered for this type string."""


class CanonicalEncodingError(EventValidationError):
    """A value cannot be encoded as canonical JSON (NaN, Infinity, non-string key, ...)."""


class ChainBroken(LedgerError):
    """The hash chain does not hold; `seq` is the first event that breaks it."""

    def __init__(self, seq: int | None, reason: str):
        self.seq = seq
        self.reason = reason
        super().__init__(f"ledger chain broken at event {seq}: {reason}")


class LedgerBusy(LedgerError):
    """Another process held the ledger's write lock for longer than the retry budget."""


class LedgerFormatError(LedgerError):
    """The ledger file has a format version this canalis does not read."""


class CheckpointError(LedgerError):
    """A checkpoint could not be made or read (docs/events.md, "Checkpoints")."""


class CheckpointKeyError(CheckpointError):
    """A checkpoint key is missing, unreadable, of the wrong kind, or unsafely stored."""


class CheckpointFormatError(CheckpointError):
    """A checkpoint file is not a checkpoint of a format this canalis reads."""


class LedgerFull(LedgerError):
    """No space left on the device holding the ledger: an event could not be recorded (or
    the ledger could only be opened read-only). Free some space and try again."""


class PlanDocumentMissing(LedgerError):
    """A `run.submitted` names its plan by digest and the plan cannot be read (no reader of the
    workspace's store was given to the ledger, or the store lacks the document)."""
