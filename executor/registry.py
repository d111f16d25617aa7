"""Registering dataset versions: shared by `Dataset.register` and `register_on_complete`.

A version is immutable by content: registering the same tree as the latest version
returns that version instead of making a new one.
"""
from __future__ import annotations

import uuid

from canalis.executor.errors import DatasetVersionError
from canalis.ledger import events as ev


def register_dataset(ledger, *, name, tree, kind, description=None, tags=None, source=None, run_id=None, create_new_version=True):
    """Register `tree` as the next version of dataset `name` (or return the latest version when
    it holds the same tree). The version number is chosen and recorded in one ledger
    transaction, so concurrent registrations of one name get consecutive versions."""
    chosen = {}

    def decide():
        latest = ledger.dataset(name)
        chosen.clear()
        if latest is not None:
            if latest["tree"] == tree:
                chosen["existing"] = latest
                return []
            if not create_new_version:
                raise DatasetVersionError(
                    f"dataset {name!r} is already registered (version {latest['version']}) with other content; "
                    "pass create_new_version=True to register a new version"
                )
        chosen["version"] = 1 if latest is None else int(latest["version"]) + 1
        return [ev.DatasetRegistered(
            name=name, version=chosen["version"], dataset_id=str(uuid.uuid4()), kind=kind, tree=tree,
            description=description, tags=dict(tags or {}), source=dict(source or {}), run_id=run_id,
        )]

    ledger.append_computed(decide)
    return chosen["existing"] if "existing" in chosen else ledger.dataset(name, chosen["version"])
