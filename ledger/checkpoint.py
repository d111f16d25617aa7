"""Signed checkpoints of the ledger head, and checking a ledger against one.

The hash chain alone is unkeyed: whoever can write the file can rewrite history and
recompute every hash, or cut the tail. A checkpoint is the head (seq, hash) signed with a
key kept outside the workspace; a ledger that still extends the checkpointed head proves
that nothing at or below it changed. Format, signed bytes and threat model: docs/events.md,
"Checkpoints".
"""
from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from canalis.ledger.canonical import canonical_json
from canalis.ledger.errors import CheckpointFormatError, CheckpointKeyError
from canalis.ledger.keys import KINDS, SigningKey, VerifyKey, load_signing_key

CHECKPOINT_FORMAT = 1
CHECKPOINT_TYPE = "canalis.ledger.checkpoint"
#: folder of automatic checkpoints, beside ledger.db
AUTO_DIR = "checkpoints"
#: where the workspace config names the default key: config.json -> {"ledger": {KEY_SETTING: path}}
KEY_SETTING = "checkpoint_key"

_FIELDS = ("format", "hash", "key", "reason", "seq", "signature", "time", "type", "workspace")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX = re.compile(r"^(?:[0-9a-f]{2})+$")


@dataclass(frozen=True)
class Checkpoint:
    """A signed head: the ledger of `workspace` had event `seq` with hash `hash` at `time`."""

    workspace: str
    seq: int
    hash: str
    time: str
    key_alg: str
    key_id: str
    signature: str  # hex
    reason: str | None = None

    def body(self) -> dict:
        """Everything but the signature: what is signed."""
        return {
            "format": CHECKPOINT_FORMAT, "type": CHECKPOINT_TYPE, "workspace": self.workspace, "seq": self.seq,
            "hash": self.hash, "time": self.time, "reason": self.reason,
            "key": {"alg": self.key_alg, "id": self.key_id},
        }

    def to_dict(self) -> dict:
        return {**self.body(), "signature": self.signature}

    def to_json(self) -> str:
        """The file's text: canonical JSON of the whole object and a newline."""
        return canonical_json(self.to_dict()) + "\n"


def signed_bytes(body: dict) -> bytes:
    """The bytes a checkpoint's signature covers: canonical JSON (UTF-8) of the body."""
    return canonical_json(body).encode("utf-8")


def make_checkpoint(ledger, key: SigningKey, workspace: str, reason: str | None = None) -> Checkpoint:
    """Sign the ledger's current head (an empty ledger's head is seq 0 and 64 zeros)."""
    from canalis.ledger.log import utc_now

    seq, head_hash = ledger.head()
    unsigned = Checkpoint(workspace, seq, head_hash, utc_now(), key.alg, key.key_id, "", reason)
    return Checkpoint(workspace, seq, head_hash, unsigned.time, key.alg, key.key_id,
                      key.sign(signed_bytes(unsigned.body())).hex(), reason)


def parse_checkpoint(text) -> Checkpoint:
    """A checkpoint from its file's text; refuses anything that is not exactly one."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointFormatError("the checkpoint file is not UTF-8 text") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointFormatError(f"the checkpoint file is not JSON ({e})") from None
    if not isinstance(obj, dict):
        raise CheckpointFormatError("the checkpoint file holds no JSON object")
    if obj.get("type") != CHECKPOINT_TYPE:
        raise CheckpointFormatError(f"the file's type is {obj.get('type')!r}, not {CHECKPOINT_TYPE!r}")
    if obj.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointFormatError(f"checkpoint format {obj.get('format')!r}; this canalis reads format {CHECKPOINT_FORMAT}")
    missing = [f for f in _FIELDS if f not in obj]
    extra = sorted(set(obj) - set(_FIELDS))
    if missing or extra:
        what = f"missing field {missing[0]!r}" if missing else f"unknown field {extra[0]!r}"
        raise CheckpointFormatError(f"the checkpoint has a {what}")
    key = obj["key"]
    problems = [
        (isinstance(obj["workspace"], str), "workspace must be a string"),
        (isinstance(obj["seq"], int) and not isinstance(obj["seq"], bool) and obj["seq"] >= 0, "seq must be an integer >= 0"),
        (isinstance(obj["hash"], str) and bool(_HEX64.match(obj["hash"])), "hash must be 64 lower-case hex digits"),
        (isinstance(obj["time"], str), "time must be a string"),
        (obj["reason"] is None or isinstance(obj["reason"], str), "reason must be a string or null"),
        (isinstance(key, dict) and set(key) == {"alg", "id"} and key.get("alg") in KINDS
         and isinstance(key.get("id"), str) and bool(_HEX64.match(key["id"])),
         f"key must be {{\"alg\": one of {', '.join(KINDS)}, \"id\": 64 hex digits}}"),
        (isinstance(obj["signature"], str) and bool(_HEX.match(obj["signature"])), "signature must be hex"),
    ]
    for ok, why in problems:
        if not ok:
            raise CheckpointFormatError(f"the checkpoint is malformed: {why}")
    return Checkpoint(obj["workspace"], obj["seq"], obj["hash"], obj["time"], key["alg"], key["id"],
                      obj["signature"], obj["reason"])


@dataclass(frozen=True)
class CheckpointCheck:
    """The outcome of checking a ledger against a checkpoint.

    `problem` is None when `ok`, else the first problem found, one of PROBLEMS."""

    ok: bool
    problem: str | None
    message: str
    checkpoint_seq: int | None = None
    checkpoint_hash: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    key_id: str | None = None

    def to_dict(self) -> dict:
        return {
            "ok": self.ok, "problem": self.problem, "message": self.message, "checkpoint_seq": self.checkpoint_seq,
            "checkpoint_hash": self.checkpoint_hash, "head_seq": self.head_seq, "head_hash": self.head_hash,
            "key_id": self.key_id,
        }


PROBLEMS = ("malformed", "wrong_key", "bad_signature", "other_workspace", "truncated", "rewritten", "chain_broken")


def check_against(ledger, checkpoint, key: VerifyKey, workspace: str | None = None) -> CheckpointCheck:
    """Whether `ledger` extends the head `checkpoint` vouches for, checked in this order
    (the first problem is reported): the checkpoint parses, was signed by `key` and not
    altered since, names this workspace (when `workspace` is given); the ledger still
    holds event `seq` with the checkpoint's hash; the whole chain verifies."""
    try:
        cp = checkpoint if isinstance(checkpoint, Checkpoint) else parse_checkpoint(checkpoint)
    except CheckpointFormatError as e:
        return CheckpointCheck(False, "malformed", str(e), key_id=key.key_id)
    base = dict(checkpoint_seq=cp.seq, checkpoint_hash=cp.hash, key_id=key.key_id)

    def fail(problem, message, **more):
        return CheckpointCheck(False, problem, message, **base, **more)

    if (cp.key_alg, cp.key_id) != (key.alg, key.key_id):
        return fail("wrong_key", f"the checkpoint names {cp.key_alg} key {cp.key_id[:16]}…, but the key given is "
                                 f"{key.alg} key {key.key_id[:16]}…: check with the key that signed it (or the "
                                 "checkpoint's key field was altered)")
    if not key.verify(bytes.fromhex(cp.signature), signed_bytes(cp.body())):
        return fail("bad_signature", "the checkpoint's signature does not match its content: the checkpoint file was "
                                     "altered after it was signed")
    if workspace is not None and cp.workspace != workspace:
        return fail("other_workspace", f"the checkpoint is of workspace {cp.workspace!r}, this ledger belongs to "
                                       f"{workspace!r}")
    head_seq, head_hash = ledger.head()
    more = dict(head_seq=head_seq, head_hash=head_hash)
    if cp.seq > 0:
        if head_seq < cp.seq:
            return fail("truncated", f"the ledger ends at event {head_seq} but the checkpoint vouches for event {cp.seq}: "
                                     f"event(s) {head_seq + 1}..{cp.seq} were removed (the tail was cut below the "
                                     "checkpoint)", **more)
        rec = next(ledger.events(since=cp.seq - 1, chunk=1), None)
        if rec is None or rec.seq != cp.seq:
            return fail("rewritten", f"event {cp.seq}, which the checkpoint vouches for, is missing from the ledger", **more)
        if rec.hash != cp.hash:
            return fail("rewritten", f"event {cp.seq} has hash {rec.hash[:16]}… but the checkpoint says {cp.hash[:16]}…: "
                                     f"history at or before event {cp.seq} was rewritten", **more)
    chain = ledger.verify()
    if not chain.ok:
        return fail("chain_broken", f"the chain is broken at event {chain.first_bad_seq}: {chain.reason}", **more)
    return CheckpointCheck(True, None, f"the ledger extends checkpoint {cp.seq} (hash {cp.hash[:16]}…, signed by "
                                       f"{cp.key_alg} key {cp.key_id[:16]}…); chain intact up to event {head_seq}",
                           **base, **more)


# -- writing checkpoint files --------------------------------------------------------------------


def write_checkpoint_file(path, checkpoint: Checkpoint) -> Path:
    """Write the checkpoint's text to `path` atomically (temp file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(checkpoint.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def auto_checkpoint_name(checkpoint: Checkpoint) -> str:
    """`<seq, 12 digits>-<first 16 hex of the hash>.json`: one file per head."""
    return f"{checkpoint.seq:012d}-{checkpoint.hash[:16]}.json"


def default_key_path(config: dict) -> str | None:
    """The default checkpoint key a workspace config names, or None."""
    value = (config.get("ledger") or {}).get(KEY_SETTING)
    return value if isinstance(value, str) and value else None


def write_auto_checkpoint(ledger, config=None, reason: str | None = None) -> Path | None:
    """Write a checkpoint of the current head into `.canalis/checkpoints/` when the workspace
    config names a default key (`{"ledger": {"checkpoint_key": PATH}}`); do nothing (None)
    otherwise. Returns the file written (an existing file for the same head is kept as is).

    `config` is the workspace config as a dict, or the path of `.canalis/` or of its
    config.json; by default the folder holding the ledger file. A configured key that cannot
    be used raises CheckpointKeyError: an anchor the user asked for is never skipped silently.
    """
    folder = Path(ledger.path).parent
    if config is None or not isinstance(config, dict):
        cfg_path = Path(config) if config is not None else folder / "config.json"
        if cfg_path.is_dir():
            cfg_path = cfg_path / "config.json"
        folder = cfg_path.parent
        if config is None and not cfg_path.exists():
            return None  # a ledger outside a workspace has no default key
        try:
            config = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise CheckpointKeyError(f"cannot read the workspace config {cfg_path} to find the checkpoint key ({e})") from None
    key_path = default_key_path(config)
    if key_path is None:
        return None
    key = load_signing_key(key_path)
    cp = make_checkpoint(ledger, key, str(config.get("name", "")), reason)
    target = folder / AUTO_DIR
    target.mkdir(exist_ok=True)
    path = target / auto_checkpoint_name(cp)
    if path.exists():
        return path
    return write_checkpoint_file(path, cp)
