"""Runners start a step's process somewhere and stream its output back.

Every runner has `run(argv, cwd, env, on_line) -> int` (the exit code): it blocks until
the process ends, calls `on_line(stream, text)` for each line of stdout/stderr as it
arrives, and calls `on_start(pid)` once the process exists.
"""
