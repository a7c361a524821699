"""One attempt of a job: how long it may run, the lease that covers it, taking it, and running it.

An attempt gets its job's (or queue's) timeout, cut to what is left of the Lambda invocation
less a reserve for recording its outcome. Taking a job is a CAS waiting→active that spends an
attempt and sets a lease; the lease outlives the attempt's timeout by a grace, so only a dead
worker loses it. Running it builds the job's context, reads the payload (inline or from its S3
reference), parses it and calls the function under the timeout; what came of it goes to the
outcome writer (`engine.outcomes`), which alone decides and writes the job's state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

from pydantic_core import to_jsonable_python

from jobline.core.context import JobContext
from jobline.core.job import Job
from jobline.core.queues import QueueSettings
from jobline.core.registry import get_job_type
from jobline.core.states import JobState
from jobline.core.timeouts import run_with_timeout
from jobline.runtime import Runtime
from jobline.store.ports import Replacement

# A lease outlives the job timeout by this much, so only a dead worker loses its lease.
LEASE_GRACE_SECONDS = 30
# Leave the Lambda this long after a job times out, to record the outcome.
LAMBDA_RESERVE_SECONDS = 5


def timeout_for(job: Job, settings: QueueSettings, remaining_seconds: float | None) -> float:
    """How long the attempt may run: the job's timeout, else its queue's, within the invocation."""
    timeout = float(job.timeout_seconds or settings.job_timeout_seconds)
    if remaining_seconds is not None:
        timeout = min(timeout, max(1.0, remaining_seconds - LAMBDA_RESERVE_SECONDS))
    return timeout


def lease_until(now: dt.datetime, timeouts: Iterable[float], remaining_seconds: float | None) -> dt.datetime:
    """A lease covering attempts run one after another, within what is left of the invocation."""
    hold_for = sum(timeouts)
    if remaining_seconds is not None:
        hold_for = min(hold_for, max(1.0, remaining_seconds - LAMBDA_RESERVE_SECONDS))
    return now + dt.timedelta(seconds=hold_for + LEASE_GRACE_SECONDS)


def claim(runtime: Runtime, taken: list[tuple[Job, float]], remaining_seconds: float | None) -> list[Job | Exception]:
    """Take the jobs (each with its attempt's timeout) in one store round trip, under one lease
    that covers them all run one after another; each gets its own outcome (StaleJob when it lost).

    The first starts its attempt; the others are only leased: an attempt is spent when it runs
    (`started_ahead`), so a worker that dies before their turn costs them none.
    """
    now = runtime.clock()
    until = lease_until(now, (seconds for _, seconds in taken), remaining_seconds)
    claims = [
        Replacement(
            job=job.moved_to(
                JobState.ACTIVE,
                attempts=job.attempts + (1 if i == 0 else 0),
                started_at=now,
                lease_until=until,
                progress=0,
            ),
            expected_version=job.version,
            previous=job,
        )
        for i, (job, _) in enumerate(taken)
    ]
    return runtime.store.replace_many(claims)


def started_ahead(runtime: Runtime, claimed: Job) -> Job:
    """A job claimed with an earlier one of its batch starts its attempt now. The attempt is
    counted by the write of its outcome: the claim only leased it."""
    return claimed.model_copy(update={"started_at": runtime.clock(), "attempts": claimed.attempts + 1})


@dataclasses.dataclass(frozen=True)
class Ran:
    """What came of running an attempt: the job as its context left it (progress, log lines,
    checkpoints written meanwhile), and the function's result or the exception it raised."""

    job: Job
    result: Any = None
    error: Exception | None = None


def run(runtime: Runtime, job: Job, timeout: float) -> Ran:
    """Run the attempt under its timeout. Any failure on the way (unknown job type, payload not
    found or invalid, the function raising or timing out) is the attempt's failure."""
    context = JobContext(runtime, job, timeout_seconds=timeout)
    try:
        job_type = get_job_type(job.queue, job.name)
        data = runtime.payloads.get(job.data_ref) if job.data_ref else job.data
        payload = job_type.parse(data)
        result = to_jsonable_python(run_with_timeout(lambda: job_type.run(payload, context), timeout))
    except Exception as exc:  # noqa: BLE001 - any failure of the job's function is the job's failure
        return Ran(job=context.job, error=exc)
    return Ran(job=context.job, result=result)
