"""Queue operations: stats, listing, retry, remove, promote, pause/resume, clean, drain, clear.

`tenant_id=None` means an operator acting on every tenant (the admin routes); with a
tenant, another tenant's job reads as not found, so ids do not leak.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable

from jobline.core.errors import IllegalTransition, JobLocked, JobNotFound, StaleJob
from jobline.core.job import Job
from jobline.core.queues import get_queue
from jobline.core.states import JobState
from jobline.engine import dispatch
from jobline.runtime import Runtime

# One sweep of clean/drain/retention removes at most this many jobs, so one call stays
# well inside an API or Lambda timeout; callers see the count and may call again.
SWEEP_LIMIT = 5_000
_PAGE = 500


@dataclasses.dataclass(frozen=True)
class QueueStats:
    queue: str
    waiting: int
    active: int
    completed: int
    failed: int
    delayed: int
    paused: bool
    sqs_visible: int | None = None
    sqs_in_flight: int | None = None
    sqs_delayed: int | None = None
    dlq_depth: int | None = None

    @property
    def total(self) -> int:
        return self.waiting + self.active + self.completed + self.failed + self.delayed


def queue_stats(runtime: Runtime, queue: str, *, tenant_id: str | None = None, with_sqs: bool = True) -> QueueStats:
    """Counts per state from the store's counters, the paused flag, and (for operators) the SQS depths."""
    get_queue(queue)
    counts = runtime.store.counts(queue, tenant_id=tenant_id)
    depths: dict[str, int | None] = {"visible": None, "in_flight": None, "delayed": None, "dlq": None}
    # Queue depths mix every tenant's messages, so only operators see them.
    if with_sqs and tenant_id is None:
        depths.update(runtime.transport.depths(queue))
    return QueueStats(
        queue=queue,
        waiting=counts[JobState.WAITING],
        active=counts[JobState.ACTIVE],
        completed=counts[JobState.COMPLETED],
        failed=counts[JobState.FAILED],
        delayed=counts[JobState.DELAYED],
        # A tenant sees its queue paused when an operator paused it or its admin paused its jobs there.
        paused=runtime.store.is_paused(queue, tenant_id=tenant_id),
        sqs_visible=depths["visible"],
        sqs_in_flight=depths["in_flight"],
        sqs_delayed=depths["delayed"],
        dlq_depth=depths["dlq"],
    )


def list_jobs(
    runtime: Runtime, queue: str, state: JobState, *, offset: int = 0, limit: int = 50, tenant_id: str | None = None
) -> list[Job]:
    """A page of `queue`'s jobs in `state`."""
    get_queue(queue)
    return runtime.store.list_jobs(queue, state, offset=offset, limit=limit, tenant_id=tenant_id)


def get_job(runtime: Runtime, job_id: str, *, queue: str | None = None, tenant_id: str | None = None) -> Job:
    """The job, if it exists in `queue` and belongs to `tenant_id` (when given); JobNotFound otherwise."""
    if queue is not None:
        get_queue(queue)  # an unknown queue is its own 404, not "no such job"
    job = runtime.store.get(job_id)
    if job is None:
        raise JobNotFound(job_id)
    if (queue is not None and job.queue != queue) or (tenant_id is not None and job.tenant_id != tenant_id):
        raise JobNotFound(job_id)
    return job


def retry_job(runtime: Runtime, job_id: str, *, queue: str | None = None, tenant_id: str | None = None) -> Job:
    """Put a failed job back on its queue with its attempts renewed; if its message cannot be sent,
    it stays failed and EnqueueFailed is raised (`dispatch.move`)."""
    job = get_job(runtime, job_id, queue=queue, tenant_id=tenant_id)
    if job.state is not JobState.FAILED:
        raise IllegalTransition(job.id, job.state, JobState.WAITING)
    now = runtime.clock()
    renewed = job.moved_to(
        JobState.WAITING,
        attempts=0,
        error=None,
        stacktrace=None,
        result=None,
        progress=0,
        finished_at=None,
        started_at=None,
        run_at=None,
        dispatch=job.dispatch + 1,
        message_sent=True,
    ).with_log(f"retried at {now.isoformat()}")
    return dispatch.move(runtime, job, renewed)


def promote_job(runtime: Runtime, job_id: str, *, queue: str | None = None, tenant_id: str | None = None) -> Job:
    """Run a delayed job now (BullMQ's promote); if its message cannot be sent, it stays delayed
    and EnqueueFailed is raised (`dispatch.move`)."""
    job = get_job(runtime, job_id, queue=queue, tenant_id=tenant_id)
    if job.state is not JobState.DELAYED:
        raise IllegalTransition(job.id, job.state, JobState.WAITING)
    # A new dispatch number: the delayed message already in SQS, if any, becomes a no-op.
    promoted = job.moved_to(JobState.WAITING, run_at=runtime.clock(), dispatch=job.dispatch + 1, message_sent=True)
    return dispatch.move(runtime, job, promoted)


def remove_job(runtime: Runtime, job_id: str, *, queue: str | None = None, tenant_id: str | None = None) -> Job:
    """Delete a job that is not running; its message, if any, becomes a no-op."""
    job = get_job(runtime, job_id, queue=queue, tenant_id=tenant_id)
    if job.state is JobState.ACTIVE:
        raise JobLocked(job.id)
    runtime.store.delete(job.id, expected_version=job.version)
    if job.data_ref is not None:
        runtime.payloads.delete(job.data_ref)
    return job


def pause_queue(runtime: Runtime, queue: str, *, tenant_id: str | None = None) -> None:
    """Stop consumption: messages wait on the queue and no attempt is spent.

    With `tenant_id`, only that tenant's jobs wait (the worker defers them, as it does a paused
    queue's) and the other tenants' run; without, the queue stops for everyone: its event source
    mapping is disabled in AWS, the same flag locally.
    """
    get_queue(queue)
    runtime.store.set_paused(queue, True, tenant_id=tenant_id)
    if tenant_id is None:
        runtime.switch.set_enabled(queue, False)


def resume_queue(runtime: Runtime, queue: str, *, tenant_id: str | None = None) -> None:
    """Restart consumption of a paused queue, or of `tenant_id`'s jobs on it (a queue paused for
    everyone stays paused until an operator resumes it)."""
    get_queue(queue)
    runtime.store.set_paused(queue, False, tenant_id=tenant_id)
    if tenant_id is None:
        runtime.switch.set_enabled(queue, True)


def _delete_all(runtime: Runtime, jobs: list[Job]) -> int:
    removed = 0
    for job in jobs:
        try:
            runtime.store.delete(job.id, expected_version=job.version)
        except StaleJob:
            continue  # it moved on meanwhile (retried, started): not ours to remove
        if job.data_ref is not None:
            runtime.payloads.delete(job.data_ref)
        removed += 1
    return removed


def _sweep(runtime: Runtime, fetch: Callable[..., list[Job]], limit: int) -> int:
    """Delete what `fetch(limit=page_size)` returns, page by page, until it returns nothing or `limit` is reached."""
    removed = 0
    while removed < limit:
        batch = fetch(limit=min(_PAGE, limit - removed))
        if not batch:
            break
        gone = _delete_all(runtime, batch)
        removed += gone
        if gone == 0:
            break  # every job moved on under us; fetching again would loop
    return removed


def clean_queue(
    runtime: Runtime,
    queue: str,
    *,
    grace: dt.timedelta,
    state: JobState,
    limit: int = SWEEP_LIMIT,
    tenant_id: str | None = None,
) -> int:
    """Remove `state` jobs (completed or failed) that finished more than `grace` ago; returns the count."""
    get_queue(queue)
    if not state.is_finished:
        raise ValueError("clean takes completed or failed")
    until = runtime.clock() - grace
    return _sweep(
        runtime, functools.partial(runtime.store.list_due, queue, state, until=until, tenant_id=tenant_id), limit
    )


def drain_queue(
    runtime: Runtime,
    queue: str,
    *,
    include_delayed: bool = False,
    limit: int = SWEEP_LIMIT,
    tenant_id: str | None = None,
) -> int:
    """Remove the jobs waiting to run (and delayed ones if asked); their messages become no-ops."""
    get_queue(queue)
    states = [JobState.WAITING, *([JobState.DELAYED] if include_delayed else [])]
    removed = 0
    for state in states:
        fetch = functools.partial(runtime.store.list_jobs, queue, state, tenant_id=tenant_id)
        removed += _sweep(runtime, fetch, limit - removed)
    return removed


def clear_failed(runtime: Runtime, queue: str, *, limit: int = SWEEP_LIMIT, tenant_id: str | None = None) -> int:
    """Remove the failed jobs of `queue` (of one tenant if given).

    For all tenants the DLQ is emptied too; for one tenant its DLQ copies are dropped by
    the next tick, which finds their jobs gone.
    """
    removed = clean_queue(
        runtime, queue, grace=dt.timedelta(0), state=JobState.FAILED, limit=limit, tenant_id=tenant_id
    )
    if tenant_id is None:
        runtime.transport.purge_dead_letters(queue)
    return removed


def apply_retention(runtime: Runtime, queue: str) -> int:
    """Remove finished jobs past the queue's retention by age, then by count (removeOnComplete/removeOnFail)."""
    settings = get_queue(queue)
    removed = 0
    for state, keep in ((JobState.COMPLETED, settings.keep_completed), (JobState.FAILED, settings.keep_failed)):
        removed += clean_queue(runtime, queue, grace=dt.timedelta(seconds=keep.age_seconds), state=state)
        # Finished jobs list newest first, so everything past `keep.count` is the excess.
        removed += _sweep(
            runtime, functools.partial(runtime.store.list_jobs, queue, state, offset=keep.count), SWEEP_LIMIT
        )
    return removed
