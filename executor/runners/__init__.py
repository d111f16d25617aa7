"""Runners start a step's process somewhere and stream its output back.

Every runner has `run(argv, cwd, env, on_line) -> int` (the exit code): it blocks until
the process ends, calls `on_line(stream, data)` with the bytes of stdout/stderr as they
arrive (whole lines, or bounded pieces of a very long line), and calls `on_start(pid)` once
the process exists.
"""
