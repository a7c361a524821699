"""The worker runtime: one SQS record is one job call, partial batch failures always reported.

Timeline of one delivery:

    receive ─▶ read job ─▶ (removed | finished | stale dispatch) ─▶ ack, nothing runs
                    │
                    ├─▶ another worker's lease is live ─▶ leave the message, look again when it ends
                    ├─▶ queue (or its tenant there) paused / rate limited / not due ─▶ re-send with a delay,
                    │   ack (no attempt spent)
                    ├─▶ job store unreachable (reading, claiming) ─▶ re-send after a growing, jittered
                    │   wait, ack (nothing written, no attempt spent)
                    ├─▶ active, out of attempts (its last worker died) ─▶ message to DLQ, CAS active→failed, ack
                    ▼
               CAS waiting→active (attempts+1, lease) ─▶ run the function under its timeout
                    │
                    ├─▶ returned ─▶ CAS active→completed, ack
                    ├─▶ raised, a dependency unreachable (database, job store, AWS throttling) ─▶
                    │   CAS active→waiting with the attempt given back, re-send after a growing,
                    │   jittered wait, ack
                    ├─▶ raised, attempts left ─▶ CAS active→waiting, visibility = backoff, report failure
                    └─▶ raised, out of attempts ─▶ message to DLQ, CAS active→failed, ack

Where each step lives: the gates before the claim, and the flow, here; reading the jobs (up
front, for the whole batch) and choosing the batch's next jobs to claim along with this one
while they run fast, `engine.batch`; the claim, its lease and the run, `engine.attempt`; every
write of what came of it (completed, waiting for a retry, DLQ then failed), its EMF count and its
announcement, `engine.outcomes`. A batch's lifecycle events and EMF lines go out together, after
its last record; a message handled on its own (`process` outside `handle_batch`, as a job run in
its request is) is a batch of one, and its go out when it ends.

A message that kills its worker is redelivered after the visibility timeout; its job
is still `active` with an expired lease, so the next delivery takes it over (or fails
it when that was the last attempt). If the worker dies every time, SQS's redrive moves
the message to the DLQ and the tick's `reconcile_dead_letters` marks the job failed.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from jobline.aws.sqs import MAX_DELAY_SECONDS
from jobline.core.errors import StaleJob
from jobline.core.job import Job, JobMessage
from jobline.core.queues import get_queue
from jobline.core.states import JobState
from jobline.engine import attempt, outages
from jobline.engine.batch import Batch
from jobline.engine.outcomes import Outcome, OutcomeWriter, RedeliverLater
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger, trace_root, tracer

# How long a paused queue's (or paused tenant's) message waits before it looks at the flags again.
PAUSED_RECHECK_SECONDS = 30
# What every log line names while a job is handled.
JOB_LOG_KEYS = ("job_id", "queue", "tenant_id")


class Worker:
    """Runs the jobs that SQS delivers, against one runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._outcomes = OutcomeWriter(runtime)

    def handle_batch(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """The Lambda entry point for an SQS batch; returns the partial batch response."""
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        batch = Batch.read(self.runtime.store, event)
        try:
            response = process_partial_response(
                event=event,
                record_handler=functools.partial(self._handle_record, batch),
                processor=processor,
                context=context,
            )
        finally:
            self._outcomes.flush()
        return dict(response)

    def _handle_record(self, batch: Batch, record: SQSRecord, lambda_context: Any = None) -> str:
        remaining = None
        if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
            remaining = lambda_context.get_remaining_time_in_millis() / 1000
        try:
            return self.process(
                record.body,
                receipt_handle=record.receipt_handle,
                remaining_seconds=remaining,
                message_id=record.message_id,
                batch=batch,
            )
        except RedeliverLater as later:
            message = JobMessage.model_validate_json(record.body)
            try:
                self.runtime.transport.change_visibility(message, record.receipt_handle, later.seconds)
            except Exception:  # noqa: BLE001 - the message still comes back, after the queue's default timeout
                logger.exception(
                    "could not set the message's visibility", extra={"job_id": message.job_id, "queue": message.queue}
                )
            raise

    def process(
        self,
        body: str,
        *,
        receipt_handle: str = "",
        remaining_seconds: float | None = None,
        message_id: str = "",
        batch: Batch | None = None,
    ) -> str:
        """Handle one message; returns the outcome or raises RedeliverLater to keep the message.

        `batch` is the SQS batch it came in (`handle_batch` passes it); without one, the message
        is a batch of one, whose announcement and metrics go out before this returns.

        Every log line written meanwhile, the job function's included, carries the job id,
        queue and tenant; the X-Ray subsegment names the trace of the request that enqueued it.
        """
        message = JobMessage.model_validate_json(body)
        # Thread-local keys: the local stack runs several workers and the API in one process.
        logger.thread_safe_append_keys(job_id=message.job_id, queue=message.queue)
        try:
            with self._traced(message):
                if batch is not None:
                    return self._deliver_or_defer(batch, message, message_id, remaining_seconds)
                try:
                    return self._deliver_or_defer(
                        Batch.of_one(self.runtime.store), message, message_id, remaining_seconds
                    )
                finally:
                    self._outcomes.flush()
        finally:
            logger.thread_safe_remove_keys(JOB_LOG_KEYS)

    @contextlib.contextmanager
    def _traced(self, message: JobMessage) -> Iterator[None]:
        if tracer.disabled:
            yield
            return
        with tracer.provider.in_subsegment(f"## job {message.queue}") as subsegment:
            subsegment.put_annotation("job_id", message.job_id)
            subsegment.put_annotation("queue", message.queue)
            origin = trace_root(message.trace_id)
            if origin:
                subsegment.put_annotation("origin_trace_id", origin)
            yield

    def _deliver_or_defer(
        self, batch: Batch, message: JobMessage, message_id: str, remaining_seconds: float | None
    ) -> str:
        """Deliver; when the job store (or SQS, or the database) cannot be reached on the way, send
        the message again after a growing, jittered wait instead of failing the record.

        Before the claim nothing was written, so no attempt is spent (the job function's own
        outage is the outcome writer's, which gives the attempt back). A store that drops while
        the outcome is written leaves the job active under its lease: the message finds it so,
        waits for the lease, and takes it over (that attempt stays spent: it could not be given
        back). A fresh message, unlike a kept one, does not count toward the redrive, so a long
        store outage does not dead-letter the job; if even that send fails, the record fails and
        SQS redelivers it after its visibility timeout.
        """
        try:
            return self._deliver(batch, message, message_id, remaining_seconds)
        except RedeliverLater:
            raise  # already decided (it may carry a failed send as its cause)
        except Exception as exc:
            dependency = outages.outage_of(exc)
            if dependency is None:
                raise
            count = (message.outages or 0) + 1
            logger.warning("dependency unreachable while handling the message", extra={"dependency": str(dependency)})
            again = message.model_copy(update={"outages": count})
            return self._requeue(again, outages.outage_delay(count), f"{dependency} unreachable")

    def _deliver(self, batch: Batch, message: JobMessage, message_id: str, remaining_seconds: float | None) -> str:
        """The delivery gates, then the claim, the run and its outcome."""
        settings = get_queue(message.queue)
        claimed = batch.take_claimed(message_id)
        if claimed is not None:
            logger.thread_safe_append_keys(tenant_id=claimed.tenant_id)
            # It was claimed with an earlier job of the batch; its attempt starts now.
            started = attempt.started_ahead(self.runtime, claimed)
            return self._run(started, message, attempt.timeout_for(started, settings, remaining_seconds))

        job = batch.job(message.job_id)
        if job is None or job.dispatch != message.dispatch or job.is_finished:
            logger.info("message needs no work", extra={"state": job.state if job else "removed"})
            return Outcome.SKIPPED
        logger.thread_safe_append_keys(tenant_id=job.tenant_id)
        now = self.runtime.clock()

        if job.state is JobState.ACTIVE and job.lease_until and job.lease_until > now:
            wait = (job.lease_until - now).total_seconds() + 1
            raise RedeliverLater(wait, Outcome.DEFERRED, "another worker holds the job")
        if batch.stops(job):
            return self._requeue(message, PAUSED_RECHECK_SECONDS, "queue paused")
        if job.run_at and job.state is JobState.DELAYED and (job.run_at - now).total_seconds() > 1:
            return self._requeue(message, (job.run_at - now).total_seconds(), "not due yet")
        if settings.rate_limit is not None:
            limit = settings.rate_limit
            wait = self.runtime.store.take_rate_slot(
                limit.window(job.queue, job.tenant_id), max_jobs=limit.max_jobs, per_seconds=limit.per_seconds, now=now
            )
            if wait > 0:
                return self._requeue(message, wait, "rate limited")
        if job.state is JobState.ACTIVE and job.attempts >= job.max_attempts:
            # The lease expired: the worker of the last attempt died (crash or Lambda timeout).
            return self._outcomes.fail(
                job, message, "the worker stopped during the last attempt (crash or timeout)", None
            )

        timeout = attempt.timeout_for(job, settings, remaining_seconds)
        job = self._claim(batch, job, message_id, timeout, remaining_seconds)
        logger.debug("job started", extra={"attempt": job.attempts})
        return self._run(job, message, timeout)

    def _claim(self, batch: Batch, job: Job, message_id: str, timeout: float, remaining_seconds: float | None) -> Job:
        """Take the job (CAS to active, one more attempt, a lease), and, while the batch's jobs run
        fast, the next plain ones with it, in one store round trip.

        The lease covers every job of the claim run one after another, within what is left of
        the invocation, so no other worker takes one over while it waits its turn here.
        """
        size = batch.next_claim_size(time.monotonic())
        ahead = batch.claimable_after(
            message_id, size - 1, lambda taken, settings: attempt.timeout_for(taken, settings, remaining_seconds)
        )
        own, *ahead_claims = attempt.claim(
            self.runtime, [(job, timeout), *[(taken, seconds) for _, taken, seconds in ahead]], remaining_seconds
        )
        batch.record_claim([mid for mid, _, _ in ahead], ahead_claims, time.monotonic())
        if isinstance(own, StaleJob):
            raise RedeliverLater(1, Outcome.DEFERRED, "the job changed while it was being taken")
        if isinstance(own, Exception):
            raise own
        return own

    def _requeue(self, message: JobMessage, seconds: float, reason: str) -> str:
        # A fresh message instead of a visibility change: SQS counts every receive toward
        # the redrive limit, and waiting on a pause or a limit must not push a job to the DLQ.
        self.runtime.transport.send(message, delay_seconds=min(seconds, MAX_DELAY_SECONDS))
        logger.info("message re-queued", extra={"reason": reason, "delay_seconds": round(seconds, 3)})
        return Outcome.REQUEUED

    def _run(self, job: Job, message: JobMessage, timeout: float) -> str:
        """Run the attempt; the outcome writer decides and writes what came of it."""
        return self._outcomes.settle(attempt.run(self.runtime, job, timeout), message)
