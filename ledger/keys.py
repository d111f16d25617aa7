"""Keys that sign ledger checkpoints (docs/events.md, "Checkpoints").

Two kinds:

- **ed25519** (the default): the private key is a PKCS#8 PEM file (mode 0600), the public
  key a SubjectPublicKeyInfo PEM file beside it (`PATH.pub`). Whoever holds only the public
  key can check checkpoints but cannot make them. Key id: BLAKE3 hex of the 32 raw
  public-key bytes.
- **hmac** (HMAC-SHA256): one file (mode 0600) holding ``hmac-sha256:<64 hex>`` and a
  newline, the 32 key bytes. The same key makes and checks checkpoints, so whoever can check
  can also forge. Key id: BLAKE3 hex of ``b"canalis-ledger-hmac-key-id\\0" + key``.

Key files are written atomically with their final mode (created 0600 whatever the umask,
then linked into place, so an existing file is never overwritten).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from blake3 import blake3

from canalis.ledger.errors import CheckpointKeyError

ED25519 = "ed25519"
HMAC = "hmac-sha256"
KINDS = (ED25519, HMAC)
HMAC_PREFIX = "hmac-sha256:"
_HMAC_ID_CONTEXT = b"canalis-ledger-hmac-key-id\0"
_PEM_PRIVATE = b"-----BEGIN PRIVATE KEY-----"
_PEM_PUBLIC = b"-----BEGIN PUBLIC KEY-----"


def _ed25519():
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519


def _serialization():
    from cryptography.hazmat.primitives import serialization

    return serialization


@dataclass(frozen=True)
class SigningKey:
    """A key that makes checkpoints: an ed25519 private key or an HMAC key."""

    alg: str
    key_id: str
    _secret: object  # Ed25519PrivateKey or the HMAC key bytes

    def sign(self, message: bytes) -> bytes:
        if self.alg == ED25519:
            return self._secret.sign(message)
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def verify_key(self) -> "VerifyKey":
        if self.alg == ED25519:
            return VerifyKey(ED25519, self.key_id, self._secret.public_key())
        return VerifyKey(HMAC, self.key_id, self._secret)


@dataclass(frozen=True)
class VerifyKey:
    """A key that checks checkpoints: an ed25519 public key or an HMAC key."""

    alg: str
    key_id: str
    _public: object  # Ed25519PublicKey or the HMAC key bytes

    def verify(self, signature: bytes, message: bytes) -> bool:
        if self.alg == ED25519:
            from cryptography.exceptions import InvalidSignature

            try:
                self._public.verify(signature, message)
            except InvalidSignature:
                return False
            return True
        expected = hmac.new(self._public, message, hashlib.sha256).digest()
        return hmac.compare_digest(expected, signature)


def ed25519_key_id(raw_public: bytes) -> str:
    return blake3(raw_public).hexdigest()


def hmac_key_id(key: bytes) -> str:
    return blake3(_HMAC_ID_CONTEXT + key).hexdigest()


def _raw_public(public) -> bytes:
    ser = _serialization()
    return public.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)


@dataclass(frozen=True)
class GeneratedKey:
    alg: str
    key_id: str
    path: Path  # the private (ed25519) or the only (hmac) key file
    public_path: Path | None  # ed25519 only


def public_path_of(path: Path) -> Path:
    return path.with_name(path.name + ".pub")


def generate_key(path, kind: str = ED25519) -> GeneratedKey:
    """Write a new key to `path` (and, for ed25519, its public key to `path`.pub).

    Refuses to overwrite an existing file. Where the key may live (outside the workspace it
    protects) is the caller's decision; see `canalis ledger keygen`.
    """
    if kind not in KINDS:
        raise CheckpointKeyError(f"unknown key kind {kind!r}; use one of {', '.join(KINDS)}")
    path = Path(path).absolute()
    pub = public_path_of(path) if kind == ED25519 else None
    for p in (path, pub):
        if p is not None and (p.exists() or p.is_symlink()):
            raise CheckpointKeyError(f"{p} already exists; canalis never overwrites a key. Choose another path "
                                     "or remove the old file yourself")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if kind == ED25519:
        ser = _serialization()
        private = _ed25519().Ed25519PrivateKey.generate()
        pem = private.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
        public_pem = private.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
        key_id = ed25519_key_id(_raw_public(private.public_key()))
        _write_new(path, pem, 0o600)
        _write_new(pub, public_pem, 0o644)
    else:
        key = secrets.token_bytes(32)
        key_id = hmac_key_id(key)
        _write_new(path, (HMAC_PREFIX + key.hex() + "\n").encode("ascii"), 0o600)
    return GeneratedKey(kind, key_id, path, pub)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to a new file `path` with exactly `mode`: a temp file is created with
    the mode (fchmod overrides the umask), filled, synced, then hard-linked into place (which
    fails if `path` appeared meanwhile) and removed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode & 0o600)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise CheckpointKeyError(f"{path} appeared while the key was being written; nothing was overwritten") from None
    finally:
        os.unlink(tmp)


def _read(path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(1 << 16)
    except FileNotFoundError:
        raise CheckpointKeyError(f"key file {path} does not exist; make one with `canalis ledger keygen PATH`") from None
    except IsADirectoryError:
        raise CheckpointKeyError(f"{path} is a folder, not a key file") from None
    except PermissionError as e:
        raise CheckpointKeyError(f"cannot read key file {path}: {e.strerror}") from None


def _hmac_key(data: bytes, path) -> bytes:
    text = data.decode("ascii", errors="replace").strip()
    hexkey = text[len(HMAC_PREFIX):]
    try:
        key = bytes.fromhex(hexkey)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise CheckpointKeyError(f"{path} starts like an HMAC key but does not hold 64 hex digits after "
                                 f"{HMAC_PREFIX!r}; it was damaged")
    return key


def _private(data: bytes, path):
    ser = _serialization()
    try:
        key = ser.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise CheckpointKeyError(f"{path} is not a readable unencrypted private key ({e})") from None
    if not isinstance(key, _ed25519().Ed25519PrivateKey):
        raise CheckpointKeyError(f"{path} holds a {type(key).__name__}; checkpoints use ed25519 keys "
                                 "(make one with `canalis ledger keygen PATH`)")
    return key


def load_signing_key(path) -> SigningKey:
    """The key in `path`: an ed25519 private key (PEM) or an HMAC key file. A secret key
    file that other users can read is refused (as ssh does)."""
    data = _read(path)
    unsafe = file_mode_problem(path)
    if data.startswith(HMAC_PREFIX.encode()):
        if unsafe:
            raise CheckpointKeyError(unsafe)
        key = _hmac_key(data, path)
        return SigningKey(HMAC, hmac_key_id(key), key)
    if data.lstrip().startswith(_PEM_PRIVATE):
        if unsafe:
            raise CheckpointKeyError(unsafe)
        private = _private(data, path)
        return SigningKey(ED25519, ed25519_key_id(_raw_public(private.public_key())), private)
    if data.lstrip().startswith(_PEM_PUBLIC):
        raise CheckpointKeyError(f"{path} is a public key: it can check checkpoints but not sign them; "
                                 "pass the private key file (the one without .pub)")
    raise CheckpointKeyError(f"{path} is not a checkpoint key (neither an ed25519 PEM key nor an "
                             f"{HMAC_PREFIX} file); make one with `canalis ledger keygen PATH`")


def load_verify_key(path) -> VerifyKey:
    """The key in `path` as a checking key: an ed25519 public key (PEM), the private key (its
    public half is used), or an HMAC key file."""
    data = _read(path)
    if data.lstrip().startswith(_PEM_PUBLIC):
        ser = _serialization()
        try:
            public = ser.load_pem_public_key(data)
        except (ValueError, TypeError) as e:
            raise CheckpointKeyError(f"{path} is not a readable public key ({e})") from None
        if not isinstance(public, _ed25519().Ed25519PublicKey):
            raise CheckpointKeyError(f"{path} holds a {type(public).__name__}; checkpoints use ed25519 keys")
        return VerifyKey(ED25519, ed25519_key_id(_raw_public(public)), public)
    return load_signing_key(path).verify_key()


def file_mode_problem(path) -> str | None:
    """Why a key file's mode is unsafe (readable or writable by others), or None."""
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        return None
    if mode & 0o077:
        return f"{path} has mode {mode:04o}: other users can read it; run `chmod 600 {path}`"
    return None
