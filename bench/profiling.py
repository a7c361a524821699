"""Reading a cProfile run as costs per unit of work (a job, a request): the project's functions by cumulative
time, the libraries by concern, self time by area, and the top functions."""

from __future__ import annotations

import cProfile
import io
import pstats
from collections import Counter
from typing import Any

# Library entry points whose cumulative time is the cost of one concern: (label, file part, function).
LIBRARY_POINTS: list[tuple[str, str, str]] = [
    ("Powertools batch (records included)", "batch/decorators.py", "process_partial_response"),
    ("logging: every logger.info/warning call", "logging/__init__.py", "info"),
    ("  Powertools JSON formatter", "logging/formatter.py", "format"),
    ("  stream write (stdout in Lambda)", "logging/__init__.py", "emit"),
    ("EMF metrics: print of the EMF lines", "~", "<built-in method builtins.print>"),
    ("pydantic: model_validate_json", "pydantic/main.py", "model_validate_json"),
    ("pydantic: model_dump_json", "pydantic/main.py", "model_dump_json"),
    ("pydantic: model_copy", "pydantic/main.py", "model_copy"),
    ("copy.deepcopy", "copy.py", "deepcopy"),
    ("redis-py: execute_command (one command, one round trip)", "redis/client.py", "execute_command"),
    ("redis-py: Script.__call__ (EVALSHA)", "redis/commands/core.py", "__call__"),
    ("redis-py: pipeline execute", "redis/client.py", "execute"),
    ("  socket recv (waiting for Redis)", "~", "<method 'recv' of '_socket.socket' objects>"),
    ("  socket recv_into (waiting for Redis)", "~", "<method 'recv_into' of '_socket.socket' objects>"),
    ("  socket sendall", "~", "<method 'sendall' of '_socket.socket' objects>"),
    ("botocore: _make_api_call (moto in process)", "botocore/client.py", "_make_api_call"),
    ("signal.setitimer (the job timeout's SIGALRM)", "~", "<built-in method _signal.setitimer>"),
    ("Powertools resolver: resolve (the whole request)", "event_handler/api_gateway.py", "resolve"),
    ("  OpenAPI validation middleware", "middlewares/openapi_validation.py", "handler"),
    ("  Depends: build_dependency_tree", "event_handler/depends.py", "build_dependency_tree"),
    ("    typing.get_type_hints", "typing.py", "get_type_hints"),
    ("PyJWT: decode (the bearer token)", "jwt/api_jwt.py", "decode"),
]
JOBLINE_TOP = 25

# Self time by where the code lives, most specific first.
AREAS: list[tuple[str, str]] = [
    ("/site-packages/moto/", "moto (in-process AWS)"),
    ("/site-packages/botocore/", "botocore"),
    ("/site-packages/boto3/", "botocore"),
    ("/site-packages/redis/", "redis-py"),
    ("/site-packages/pydantic", "pydantic"),
    ("pydantic_core", "pydantic"),
    ("/aws_lambda_powertools/logging/", "Powertools logger"),
    ("/aws_lambda_powertools/utilities/batch/", "Powertools batch"),
    ("/aws_lambda_powertools/utilities/data_classes/", "Powertools event classes"),
    ("/aws_lambda_powertools/", "Powertools (other)"),
    ("/logging/", "stdlib logging"),
    ("/json/", "stdlib json"),
    ("/jobline/", "jobline"),
    ("_socket", "socket I/O (Redis round trips)"),
    ("signal", "signal (SIGALRM timer)"),
]


def _area(filename: str, function: str) -> str:
    where = f"{filename} {function}"
    for needle, area in AREAS:
        if needle in where:
            return area
    return "other (stdlib, builtins)"


Entries = dict[tuple[str, int, str], tuple[int, int, float, float, Any]]


def entries_of(profiler: cProfile.Profile) -> Entries:
    """The profiler's table: (file, line, function) -> (primitive calls, calls, self s, cumulative s, callers)."""
    return pstats.Stats(profiler, stream=io.StringIO()).stats  # type: ignore[attr-defined,no-any-return]


def cumulative(entries: Entries, file_part: str, function: str) -> tuple[float, int]:
    """Seconds and calls of every function named `function` in a file whose path holds `file_part` (~: builtins)."""
    total, made = 0.0, 0
    for (filename, _, name), (_, ncalls, _, cum, _) in entries.items():
        if name == function and (file_part == "~" or file_part in filename):
            total, made = total + cum, made + ncalls
    return total, made


def _where(filename: str) -> str:
    return filename.split("site-packages/")[-1].split("layers/shared/")[-1].split("lib/python3.12/")[-1]


def print_report(entries: Entries, units: int, unit: str, *, top: int = 25) -> None:
    """Costs per `unit` (units of work done while profiling): ours, the libraries', by area, the hottest."""
    per = 1e6 / units
    print(f"    Jobline's functions by cumulative time (top {JOBLINE_TOP}; a caller's time includes its callees'):")
    print(f"    {'µs/' + unit:>8} {'calls/' + unit:>9}  function")
    ours = [
        (cum, ncalls, filename, line, name)
        for (filename, line, name), (_, ncalls, _, cum, _) in entries.items()
        if "/jobline/" in filename
    ]
    for cum, ncalls, filename, line, name in sorted(ours, reverse=True)[:JOBLINE_TOP]:
        print(f"    {cum * per:8.1f} {ncalls / units:9.2f}  {name}  ({_where(filename)}:{line})")
    print("    libraries, by concern (cumulative):")
    for label, file_part, function in LIBRARY_POINTS:
        total, made = cumulative(entries, file_part, function)
        if made:
            print(f"    {total * per:8.1f} {made / units:9.2f}  {label}")
    batch, _ = cumulative(entries, "batch/decorators.py", "process_partial_response")
    records, _ = cumulative(entries, "jobline/engine/worker.py", "_handle_record")
    if batch and records:
        print(f"    {(batch - records) * per:8.1f} {'':9}  Powertools batch's own overhead (minus the records)")
    areas: Counter[str] = Counter()
    for (filename, _, name), (_, _, own, _, _) in entries.items():
        areas[_area(filename, name)] += own
    total_own = sum(areas.values())
    print("    self time by area (where the CPU actually is):")
    for area, own in areas.most_common():
        print(f"    {own * per:8.1f} µs/{unit}  {100 * own / total_own:5.1f}%  {area}")
    print(f"    top {top} functions by self time:")
    ranked = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    for (filename, line, name), (_, ncalls, own, _, _) in ranked:
        print(f"    {own * per:8.1f} µs/{unit} {ncalls / units:7.2f} calls/{unit}  {name}  ({_where(filename)}:{line})")
