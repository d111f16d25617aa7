"""canalis.store: content-addressed blobs and trees (BLAKE3 addresses, zstd on disk)."""

FORMAT_VERSION = 1
