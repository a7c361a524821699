"""The per-minute tick and the nightly sweep that `functions/cleanup` runs."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import ValidationError

from jobline import lifecycle, metrics, recurring
from jobline.clock import TICK_HORIZON
from jobline.errors import StaleJob
from jobline.jobs import JobMessage
from jobline.observability import logger
from jobline.operations import apply_retention
from jobline.queues import QUEUES
from jobline.runtime import Runtime
from jobline.states import JobState
from jobline.transport import DEAD_LETTERED_BY

_RELEASE_PAGE = 500
# DLQ reads per queue per tick (10 messages each); a large backlog is worked through over
# several ticks.
_DLQ_READS = 10


@dataclasses.dataclass
class TickReport:
    released: int = 0
    recurring_runs: int = 0
    dead_letters_recorded: int = 0
    stale_dead_letters_dropped: int = 0


def release_due_delayed(runtime: Runtime, queue: str) -> int:
    """Send the delayed jobs of `queue` that fall due before the next tick; returns how many."""
    now = runtime.clock()
    released = 0
    due = runtime.store.list_due(queue, JobState.DELAYED, until=now + TICK_HORIZON, limit=_RELEASE_PAGE)
    for job in due:
        if job.message_sent:
            continue  # its SQS message (a short delay, or a retry's backoff) is on its way
        waiting = job.moved_to(JobState.WAITING, message_sent=True)
        try:
            stored = runtime.store.replace(waiting, expected_version=job.version)
        except StaleJob:
            continue  # another tick, a promote or a remove got there first
        delay = max(0.0, (job.run_at - now).total_seconds()) if job.run_at else 0.0
        message = JobMessage.for_job(stored)
        runtime.transport.send(message, delay_seconds=delay)
        released += 1
    return released


def reconcile_dead_letters(runtime: Runtime, queue: str, report: TickReport) -> None:
    """Mark failed the jobs whose messages SQS's redrive moved to the DLQ (their worker died),
    and drop DLQ messages whose job was since retried or removed."""
    seen: set[str] = set()
    for _ in range(_DLQ_READS):
        messages = runtime.transport.receive_dead_letters(queue)
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for raw in fresh:
            seen.add(raw["MessageId"])
            _reconcile_one(runtime, queue, raw, report)


def _reconcile_one(runtime: Runtime, queue: str, raw: dict[str, Any], report: TickReport) -> None:
    try:
        message = JobMessage.model_validate_json(raw["Body"])
    except ValidationError:
        return  # not a Jobline message: left for an operator to read
    job = runtime.store.get(message.job_id)
    if job is None or job.dispatch != message.dispatch:
        runtime.transport.delete_dead_letter(queue, raw["ReceiptHandle"])
        report.stale_dead_letters_dropped += 1
        return
    if DEAD_LETTERED_BY in raw.get("MessageAttributes", {}) or job.is_finished:
        return
    receives = raw.get("Attributes", {}).get("ApproximateReceiveCount", "?")
    error = f"the message reached the dead-letter queue after {receives} receives: its worker crashed or timed out"
    failed = job.moved_to(JobState.FAILED, error=error, finished_at=runtime.clock(), lease_until=None)
    try:
        stored = runtime.store.replace(failed, expected_version=job.version)
    except StaleJob:
        return
    report.dead_letters_recorded += 1
    metrics.record_outcome(runtime, stored)
    lifecycle.announce(runtime, stored)
    logger.error("job failed by redrive", extra={"job_id": job.id, "queue": queue, "tenant_id": job.tenant_id})


def run_tick(runtime: Runtime) -> TickReport:
    """The per-minute work: enqueue due recurring runs, release due delayed jobs, reconcile every DLQ."""
    report = TickReport(recurring_runs=recurring.enqueue_due_runs(runtime))
    for queue in QUEUES:
        report.released += release_due_delayed(runtime, queue)
        reconcile_dead_letters(runtime, queue, report)
    return report


def run_nightly(runtime: Runtime) -> dict[str, int]:
    """The nightly sweep: finished jobs past their queue's retention, per queue."""
    return {queue: apply_retention(runtime, queue) for queue in QUEUES}
