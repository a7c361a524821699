"""Throwaway job types for the core's tests, registered on the generic-task queue."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict

from jobline.core.context import JobContext
from jobline.core.errors import UnrecoverableError
from jobline.core.registry import job_type

QUEUE = "generic-task"
# What each job's function did, by job id: the tests read effects from here.
RUNS: Counter[str] = Counter()
_lock = threading.Lock()


class Echo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str
    fail_times: int = 0
    crash_times: int = 0
    sleep: float = 0.0
    steps: int = 0


def _count(ctx: JobContext) -> int:
    with _lock:
        RUNS[ctx.job_id] += 1
        return RUNS[ctx.job_id]


@job_type(QUEUE, "test-echo", payload=Echo)
def echo(payload: Echo, ctx: JobContext) -> dict[str, Any]:
    run = _count(ctx)
    if run <= payload.crash_times:
        raise SystemExit("worker process killed")  # not an Exception: the worker cannot catch it
    if run <= payload.fail_times:
        raise RuntimeError(f"planned failure {run}")
    for step in range(payload.steps):
        ctx.progress((step + 1) * 100 / payload.steps, log=f"step {step + 1}")
    if payload.sleep:
        time.sleep(payload.sleep)
    return {"echo": payload.value, "tenant": ctx.tenant_id, "attempt": ctx.attempt}


@job_type(QUEUE, "test-unrecoverable")
def unrecoverable(payload: dict[str, Any], ctx: JobContext) -> None:
    _count(ctx)
    raise UnrecoverableError("bad data, do not retry")


@job_type("email", "test-noop")
def noop(payload: dict[str, Any], ctx: JobContext) -> None:
    _count(ctx)


@job_type("room-generation", "test-room-noop")
def room_noop(payload: dict[str, Any], ctx: JobContext) -> None:
    _count(ctx)
