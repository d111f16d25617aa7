"""Registering versions of datasets, models and environments: one rule for all three.

A registration names content by digest (a tree for datasets and models, the canonical
definition for environments). The rule: a version is its content. Registering the same
content as the latest version returns that version and records nothing (description,
tags and properties given again do not make a new version); other content becomes the
next version. New content for an existing dataset name is refused unless a new version
is asked for (SDK v1's `create_new_version`).

The version number is chosen and recorded in one ledger write transaction
(`Ledger.append_computed`), so concurrent registrations of one name get consecutive
versions instead of colliding.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from canalis.executor.errors import DatasetVersionError
from canalis.ledger import events as ev
from canalis.ledger.rows import RegistrationRow

#: kind -> (projection table, event class)
KINDS = {
    "dataset": ("datasets", ev.DatasetRegistered),
    "model": ("models", ev.ModelRegistered),
    "environment": ("environments", ev.EnvironmentRegistered),
}


@dataclass(frozen=True)
class Lineage:
    """Where registered content came from: the run and step run that made it, the step
    output it was, the datasets it was made from, or the datastore paths it was read from."""

    run_id: str | None = None
    step_run_id: str | None = None
    output: str | None = None
    datasets: tuple = ()  # ({"name", "version", "id", "purpose"}, ...)
    sources: tuple = ()  # ({"datastore", "path"}, ...)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {k: v for k, v in (("run_id", self.run_id), ("step_run_id", self.step_run_id), ("output", self.output))
             if v is not None}
        if self.datasets:
            d["datasets"] = [dict(x) for x in self.datasets]
        if self.sources:
            d["sources"] = [dict(x) for x in self.sources]
        d.update(self.extra)
        return d


def register(ledger, what: str, name: str, digest: str, *, lineage: Lineage | None = None, description=None,
             tags=None, properties=None, create_new_version: bool = True, **fields) -> RegistrationRow:
    """Record `digest` as a version of `name`, a `what` ("dataset", "model", "environment");
    see the module docstring. Returns the version's row. `fields` are the kind's own fields (a dataset's `kind` and `options`,
    an environment's `definition`)."""
    if what not in KINDS:
        raise ValueError(f"cannot register a {what!r}; canalis registers {', '.join(KINDS)}")
    table, event_class = KINDS[what]
    meta = {"description": description, "tags": dict(tags or {}), "properties": dict(properties or {})}
    chosen: dict = {}

    def decide():
        latest = ledger.registration(table, name)
        chosen.clear()
        if latest is not None:
            if latest.digest == digest:
                chosen["version"] = latest.version
                return []
            if latest.digest != digest and not create_new_version:
                raise DatasetVersionError(
                    f"{what} {name!r} is already registered (version {latest.version}) with other content; "
                    "pass create_new_version=True to register a new version"
                )
        chosen["version"] = 1 if latest is None else int(latest.version) + 1
        return [event_class(name=name, version=chosen["version"], id=str(uuid.uuid4()), digest=digest,
                            lineage=(lineage or Lineage()).to_dict(), **meta, **fields)]

    ledger.append_computed(decide)
    return ledger.registration(table, name, chosen["version"])
