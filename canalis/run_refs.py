"""Run references: how a run is named on the command line, the same way everywhere.

    RUN_ID                   the whole id
    PREFIX                   a unique beginning of an id (an ambiguous one lists the candidates)
    latest                   the run submitted last in the workspace
    latest~N                 the N-th run before it (latest~0 is latest)
    EXPERIMENT:latest        the run submitted last to EXPERIMENT (and EXPERIMENT:latest~N)

Every command that takes a RUN (show, logs, metrics, cancel, why, diff, compare, resume,
reproduce, lineage) resolves it here.
"""
from __future__ import annotations

import re

from canalis.errors import ReferenceNotFound

_LATEST = re.compile(r"^(?:(?P<experiment>.+):)?latest(?:~(?P<back>\d+))?$")
#: candidates named when a prefix is ambiguous
SHOWN = 8


class RunNotFound(ReferenceNotFound):
    """A run reference that names no run (or several)."""


def resolve_run(ledger, ref: str) -> str:
    """The run id `ref` names (see the module's docstring); raises RunNotFound saying what there is."""
    ref = (ref or "").strip()
    if not ref:
        raise RunNotFound("an empty run reference names no run; give a run id, a prefix of one, or latest")
    m = _LATEST.match(ref)
    if m and ledger.run(ref) is None:
        return _latest(ledger, m.group("experiment"), int(m.group("back") or 0), ref)
    if ledger.run(ref) is not None:
        return ref
    matches = ledger.run_ids_with_prefix(ref, limit=SHOWN + 1)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFound(f"no run {ref!r} in this workspace; list runs with `canalis runs` "
                          "(a run is named by its id, a unique prefix, latest, latest~N or EXPERIMENT:latest)")
    more = " ..." if len(matches) > SHOWN else ""
    raise RunNotFound(f"{ref!r} is the beginning of more than one run ({', '.join(matches[:SHOWN])}{more}); "
                      "give more of the id")


def _latest(ledger, experiment: str | None, back: int, ref: str) -> str:
    runs = ledger.runs(experiment=experiment, limit=back + 1)
    where = f"experiment {experiment!r}" if experiment else "this workspace"
    if len(runs) > back:
        return runs[back].run_id
    if not runs:
        if experiment and not any(e.name == experiment for e in ledger.experiments()):
            known = ", ".join(sorted(e.name for e in ledger.experiments())) or "none yet"
            raise RunNotFound(f"{ref!r}: there is no experiment {experiment!r} (experiments: {known})")
        raise RunNotFound(f"{ref!r}: {where} has no run yet; submit one with `canalis submit`")
    raise RunNotFound(f"{ref!r}: {where} has only {len(runs)} run(s), so latest~{len(runs) - 1} is the oldest")


__all__ = ["RunNotFound", "resolve_run"]
