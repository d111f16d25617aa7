"""`PipelineParameter`: a named value a pipeline takes at submit time; `StepSequence`: steps
that run one after another."""
from __future__ import annotations

import json

from canalis.exceptions import UserErrorException


class PipelineParameter:
    """A value given at submit. Its default is JSON (str, number, bool, list, dict), or data: a
    `DataPath` or a dataset, whose content is snapshotted at submit and read by steps as an
    input (as `(param, DataPathComputeBinding())`, `DatasetConsumptionConfig(name, param)` or
    the parameter itself among inputs or arguments)."""

    def __init__(self, name, default_value):
        from canalis.data.kinds import is_data_value

        if is_data_value(default_value):
            self.name, self.default_value = name, default_value
            return
        try:
            json.dumps(default_value, allow_nan=False)
        except (TypeError, ValueError):
            raise UserErrorException(
                f"pipeline parameter {name!r} needs a JSON value (str, number, bool, list, dict) as default, got {default_value!r}"
            ) from None
        from canalis.executor.errors import ParameterValueError
        from canalis.executor.plan import check_value

        try:  # bytes, NUL and lone surrogates cannot reach a step's command line
            check_value(default_value, f"default value of pipeline parameter {name!r}")
        except ParameterValueError as e:
            raise UserErrorException(str(e)) from None
        self.name = name
        self.default_value = default_value

    def _is_data(self) -> bool:
        from canalis.data.kinds import is_data_value

        return is_data_value(self.default_value)

    def __repr__(self):
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"


class StepSequence:
    """Steps that run one after another even without data between them."""

    def __init__(self, steps=None):
        self.steps = list(steps or [])
