"""canalis.executor: plan, fingerprint, reuse and run pipeline steps."""
