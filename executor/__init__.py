"""canalis.executor: plan, bind, decide reuse and run pipeline steps.

The public API, importable from here (each loaded on first use, so that importing the
package stays cheap):

- `Session`, `SubmitOptions`, `RunHandle` (executor/session.py): the application core.
- `Plan`, `StepSpec`, `InputSpec`, `OutputSpec`, `Lit`, `Param`, `InputRef`, `OutputRef`
  (executor/plan.py): what a pipeline is, as data.
- `BoundStep`, `WorkLayout` (executor/bind.py; `bind.bind` binds): a step bound to values and inputs,
  both its command and its reuse key; `KeyDocument` (executor/fingerprint.py) reads keys.
- `Lineage` (executor/registry.py).
- Errors (executor/errors.py): `ExecutorError`, `PlanError` and its kinds, `StepLaunchError`,
  `DatasetVersionError`.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Session": "session", "SubmitOptions": "session", "RunHandle": "session",
    "Plan": "plan", "StepSpec": "plan", "InputSpec": "plan", "OutputSpec": "plan",
    "Lit": "plan", "Param": "plan", "InputRef": "plan", "OutputRef": "plan", "PLAN_FORMAT": "plan",
    "BoundStep": "bind", "WorkLayout": "bind", "BindError": "bind",
    "KeyDocument": "fingerprint", "KEY_VERSION": "fingerprint",
    "Lineage": "registry",
    "ExecutorError": "errors", "PlanError": "errors", "CycleError": "errors", "MissingProducerError": "errors",
    "DuplicateProducerError": "errors", "UnknownParameterError": "errors", "StepLaunchError": "errors",
    "DatasetVersionError": "errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'canalis.executor' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"canalis.executor.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
