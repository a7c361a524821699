"""The tick's reconciling of dead letters: a job whose message SQS's redrive moved to the DLQ (its
worker died every time) is marked failed, and the DLQ keeps one message per failed job."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import ValidationError

from jobline.aws.sqs import DEAD_LETTERED_BY
from jobline.core.errors import StaleJob
from jobline.core.job import JobMessage
from jobline.core.states import JobState
from jobline.engine import lifecycle, outcomes
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger

# DLQ reads per queue per tick (10 messages each); a large backlog is worked through over
# several ticks.
_DLQ_READS = 10
# A scan hides each message it read for this long, so that its next read returns others; it shows
# them again when done (or SQS does, if the tick dies).
_DLQ_SCAN_HIDE_SECONDS = 20


@dataclasses.dataclass
class DeadLetterTally:
    """What the reconciling did, counted as it goes: a queue that fails halfway keeps what it did."""

    recorded: int = 0
    stale_dropped: int = 0


def reconcile_dead_letters(runtime: Runtime, queue: str, tally: DeadLetterTally) -> None:
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
            if not _reconcile_one(runtime, queue, raw, tally, kept):
                hidden.append(raw["ReceiptHandle"])
    finally:
        # What the scan read and kept is the failed jobs' record: visible again for whoever reads the DLQ.
        runtime.transport.release_dead_letters(queue, hidden)


def _reconcile_one(runtime: Runtime, queue: str, raw: dict[str, Any], tally: DeadLetterTally, kept: set[str]) -> bool:
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
        tally.stale_dropped += 1
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
    tally.recorded += 1
    lifecycle.announce(runtime, stored)
    logger.error("job failed by redrive", extra={"job_id": job.id, "queue": queue, "tenant_id": job.tenant_id})
    return False
