"""The per-minute tick and the nightly sweep that `functions/cleanup` runs."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import ValidationError

from jobline.aws.sqs import DEAD_LETTERED_BY
from jobline.core.clock import TICK_HORIZON
from jobline.core.errors import EnqueueFailed, StaleJob
from jobline.core.job import JobMessage
from jobline.core.queues import QUEUES
from jobline.core.states import JobState
from jobline.engine import lifecycle, outcomes, recurring
from jobline.engine.operations import apply_retention, dispatch
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger

_RELEASE_PAGE = 500
# DLQ reads per queue per tick (10 messages each); a large backlog is worked through over
# several ticks.
_DLQ_READS = 10
# A scan hides each message it read for this long, so that its next read returns others; it shows
# them again when done (or SQS does, if the tick dies).
_DLQ_SCAN_HIDE_SECONDS = 20


@dataclasses.dataclass
class TickReport:
    released: int = 0
    recurring_runs: int = 0
    dead_letters_recorded: int = 0
    stale_dead_letters_dropped: int = 0
    failed_queues: list[str] = dataclasses.field(default_factory=list)


def release_due_delayed(runtime: Runtime, queue: str) -> int:
    """Send the delayed jobs of `queue` that fall due before the next tick; returns how many."""
    now = runtime.clock()
    released = 0
    due = runtime.store.list_due(queue, JobState.DELAYED, until=now + TICK_HORIZON, limit=_RELEASE_PAGE)
    for job in due:
        if job.message_sent:
            continue  # its SQS message (a short delay, or a retry's backoff) is on its way
        waiting = job.moved_to(JobState.WAITING, message_sent=True)
        delay = max(0.0, (job.run_at - now).total_seconds()) if job.run_at else 0.0
        try:
            dispatch(runtime, job, waiting, delay_seconds=delay)
        except StaleJob:
            continue  # another tick, a promote or a remove got there first
        except EnqueueFailed:
            # Put back as delayed, unsent: the next tick tries again.
            logger.warning("could not release a delayed job", exc_info=True, extra={"job_id": job.id})
            continue
        released += 1
    return released


def reconcile_dead_letters(runtime: Runtime, queue: str, report: TickReport) -> None:
    """Mark failed the jobs whose messages SQS's redrive moved to the DLQ (their worker died),
    and keep one DLQ message per failed job: drop the copies whose job was since retried,
    removed or completed, and the second copy of a failed job's message."""
    seen: dict[str, dict[str, Any]] = {}
    kept: set[str] = set()
    hidden: list[str] = []
    try:
        for _ in range(_DLQ_READS):
            messages = runtime.transport.receive_dead_letters(queue, hide_seconds=_DLQ_SCAN_HIDE_SECONDS)
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update((raw["MessageId"], raw) for raw in fresh)
        # The worker's own copies first: of two copies of a failed job's message, the one with its error stays.
        ordered = sorted(seen.values(), key=lambda raw: DEAD_LETTERED_BY not in raw.get("MessageAttributes", {}))
        for raw in ordered:
            if not _reconcile_one(runtime, queue, raw, report, kept):
                hidden.append(raw["ReceiptHandle"])
    finally:
        # What the scan read and kept is the failed jobs' record: visible again for whoever reads the DLQ.
        runtime.transport.release_dead_letters(queue, hidden)


def _reconcile_one(runtime: Runtime, queue: str, raw: dict[str, Any], report: TickReport, kept: set[str]) -> bool:
    """Record or drop one DLQ message; True when it was deleted."""
    try:
        message = JobMessage.model_validate_json(raw["Body"])
    except ValidationError:
        return False  # not a Jobline message: left for an operator to read
    job = runtime.store.get(message.job_id)
    if job is None or job.dispatch != message.dispatch or job.state is JobState.COMPLETED or job.id in kept:
        # A completed job's message comes here when its batch's worker died before acknowledging it
        # and SQS redelivered it past maxReceiveCount; a failed job's too, beside the worker's copy.
        runtime.transport.delete_dead_letter(queue, raw["ReceiptHandle"])
        report.stale_dead_letters_dropped += 1
        return True
    kept.add(job.id)
    if DEAD_LETTERED_BY in raw.get("MessageAttributes", {}) or job.is_finished:
        return False
    error = "the message reached the dead-letter queue: its worker crashed or timed out"
    failed = job.moved_to(JobState.FAILED, error=error, finished_at=runtime.clock(), lease_until=None)
    try:
        stored = outcomes.record_finished(runtime, failed, job)
    except StaleJob:
        return False
    report.dead_letters_recorded += 1
    lifecycle.announce(runtime, stored)
    logger.error("job failed by redrive", extra={"job_id": job.id, "queue": queue, "tenant_id": job.tenant_id})
    return False


def run_tick(runtime: Runtime) -> TickReport:
    """The per-minute work: enqueue due recurring runs, release due delayed jobs, reconcile every DLQ."""
    report = TickReport(recurring_runs=recurring.enqueue_due_runs(runtime))
    for queue in QUEUES:
        # One queue's trouble (SQS throttling, a bad record) must not stop the others' release and reconciling.
        try:
            report.released += release_due_delayed(runtime, queue)
            reconcile_dead_letters(runtime, queue, report)
        except Exception:  # noqa: BLE001 - logged; the next tick tries this queue again
            logger.exception("tick failed for a queue", extra={"queue": queue})
            report.failed_queues.append(queue)
    return report


def run_nightly(runtime: Runtime) -> dict[str, int]:
    """The nightly sweep: finished jobs past their queue's retention, per queue."""
    return {queue: apply_retention(runtime, queue) for queue in QUEUES}
