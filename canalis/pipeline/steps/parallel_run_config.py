"""`ParallelRunConfig`: how a ParallelRunStep splits its data and runs its entry script (SDK v1 names)."""
from __future__ import annotations

import re

from canalis.exceptions import UserErrorException

OUTPUT_ACTIONS = ("append_row", "summary_only")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?B)?\s*$", re.IGNORECASE)
_UNITS = {None: 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


class ParallelRunConfig:
    """What SDK v1's ParallelRunConfig held. `mini_batch_size` is a number of files for a
    FileDataset and a size ("1MB", "64KB") or a number of rows for a TabularDataset;
    `error_threshold` is how many failed items (files, rows) are tolerated (-1: any number);
    `node_count * process_count_per_node` processes run mini-batches at once (on the local
    runner; on a Dask target the cluster's workers do)."""

    def __init__(self, environment=None, entry_script=None, error_threshold=-1, output_action="append_row",
                 compute_target=None, node_count=1, process_count_per_node=None, mini_batch_size=None,
                 source_directory=None, description=None, logging_level="INFO", run_invocation_timeout=60,
                 run_max_try=3, append_row_file_name=None, allowed_failed_count=None, allowed_failed_percent=None,
                 partition_keys=None, **kwargs):
        if not entry_script:
            raise UserErrorException("ParallelRunConfig needs entry_script= (the script defining init() and run())")
        if output_action not in OUTPUT_ACTIONS:
            raise UserErrorException(f"ParallelRunConfig output_action must be 'append_row' or 'summary_only', "
                                     f"got {output_action!r}")
        if not isinstance(error_threshold, int) or error_threshold < -1:
            raise UserErrorException(f"ParallelRunConfig error_threshold must be -1 (no limit) or a count of items "
                                     f"that may fail, got {error_threshold!r}")
        if run_invocation_timeout is not None and (isinstance(run_invocation_timeout, bool) or
                                                   not isinstance(run_invocation_timeout, (int, float)) or
                                                   run_invocation_timeout <= 0):
            raise UserErrorException(f"ParallelRunConfig run_invocation_timeout must be a number of seconds above 0 "
                                     f"(or None: no limit), got {run_invocation_timeout!r}")
        self.environment = environment
        self.entry_script = entry_script
        self.error_threshold = error_threshold
        self.output_action = output_action
        self.compute_target = compute_target
        self.node_count = int(node_count or 1)
        self.process_count_per_node = int(process_count_per_node) if process_count_per_node else None
        self.mini_batch_size = mini_batch_size
        self.source_directory = source_directory
        self.description = description
        self.logging_level = logging_level
        self.run_invocation_timeout = run_invocation_timeout
        self.run_max_try = run_max_try
        self.append_row_file_name = append_row_file_name or "parallel_run_step.txt"
        if "/" in self.append_row_file_name or self.append_row_file_name in ("", ".", ".."):
            raise UserErrorException(f"append_row_file_name must be a file name, got {append_row_file_name!r}")


def batch_size(value, kind: str):
    """The mini-batch size as ("files", n), ("rows", n) or ("bytes", n)."""
    if value is None:
        return ("files", 10) if kind == "file" else ("bytes", 1 << 20)
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise UserErrorException(f"mini_batch_size must be at least 1, got {value!r}")
        return ("files" if kind == "file" else "rows", value)
    m = _SIZE.match(str(value))
    if not m:
        raise UserErrorException(f"mini_batch_size {value!r} is neither a count nor a size such as '1MB'")
    n, unit = float(m.group(1)), (m.group(2) or "").upper() or None
    if kind == "file":
        if unit is not None:
            raise UserErrorException(f"mini_batch_size for a FileDataset is a number of files, got {value!r}")
        return ("files", max(1, int(n)))
    return ("bytes", max(1, int(n * _UNITS[unit])))
