"""canalis.store: content-addressed blobs and trees (BLAKE3 addresses, zstd on disk).

    from canalis.store import FORMAT_VERSION, LocalStore, TreeEntry, SnapshotResult

The on-disk format is described in docs/store-format.md.
"""

FORMAT_VERSION = 3

_LAZY = {
    "LocalStore": "canalis.store.local",
    "SnapshotResult": "canalis.store.snapshot",
    "VerifyReport": "canalis.store.verify",
    "TreeEntry": "canalis.store.tree",
    "Store": "canalis.store.protocol",
}

__all__ = ["FORMAT_VERSION", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'canalis.store' has no attribute {name!r}")
