"""canalis.ledger: the append-only, hash-chained event log and its projections."""

FORMAT_VERSION = 1
