"""How a delivery ended, and the one writer of a job's outcome: the only place a job's final state
is chosen and written.

After an attempt ran (`engine.attempt`), `OutcomeWriter.settle` decides: returned → completed;
raised with attempts left → waiting again after its backoff (the message comes back then);
raised because a dependency was unreachable (`engine.outages`: the database, the job store, AWS
throttling) → waiting again with the attempt given back, woken by a fresh message after a
jittered wait that grows with each consecutive outage;
raised out of attempts, or unrecoverable → the message to the DLQ, then failed. Each written
attempt is counted in the EMF metrics, and a finished job is announced (EventBridge, callback);
both are buffered until `flush`, which the worker calls when its batch (or lone message) ends.

A finished job (completed or failed) is written over the record its worker (or the tick's
dead-letter reconciler) read, and counted in its queue's counters (outcome and last attempt's
length) in the same store write, so neither outlives the other (`record_finished`). Telemetry
only decides what is counted (`telemetry.metrics.increments`); this module writes it.
"""

from __future__ import annotations

import datetime as dt
import enum
import traceback
from typing import TYPE_CHECKING

from jobline.aws.sqs import MAX_DELAY_SECONDS
from jobline.core.errors import JobCancelled, StaleJob, UnrecoverableError
from jobline.core.job import MAX_STACKTRACE_CHARS, Job, JobMessage
from jobline.core.retry import next_retry_delay
from jobline.core.states import JobState
from jobline.engine import lifecycle, outages
from jobline.telemetry.emf import EmfRecorder, EmfStatus
from jobline.telemetry.metrics import counter_name, increments
from jobline.telemetry.observability import logger

if TYPE_CHECKING:
    from jobline.engine.attempt import Ran
    from jobline.runtime import Runtime


class Outcome(enum.StrEnum):
    """How the worker's handling of one message ended."""

    COMPLETED = "completed"
    RETRYING = "retrying"
    FAILED = "failed"
    SKIPPED = "skipped"
    REQUEUED = "requeued"
    DEFERRED = "deferred"


class RedeliverLater(Exception):
    """Leave the message on its queue, to be delivered again after `seconds`."""

    def __init__(self, seconds: float, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.outcome = outcome


def record_finished(runtime: Runtime, finished: Job, previous: Job) -> Job:
    """Write `finished` (completed or failed) over the stored `previous` and count it, in one
    store write; raises StaleJob if the job changed since `previous` was read."""
    return runtime.store.replace_counted(
        finished,
        expected_version=previous.version,
        previous=previous,
        counter=counter_name(finished.queue),
        increments=increments(finished),
    )


class OutcomeWriter:
    """Writes the outcomes of a worker's attempts; counts and announces them at `flush`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._announcer = lifecycle.Announcer(runtime)
        self._emf = EmfRecorder()

    def settle(self, ran: Ran, message: JobMessage) -> str:
        """Decide and write what the attempt's run makes of its job; returns the outcome, or
        raises RedeliverLater when the job waits for its next attempt."""
        if isinstance(ran.error, JobCancelled):
            logger.info("job removed while it ran")
            return Outcome.SKIPPED
        if ran.error is not None:
            dependency = outages.outage_of(ran.error)
            if dependency is not None and ran.job.outage_deferrals < outages.OUTAGE_DEFERRALS_MAX:
                return self._outage(ran.job, message, ran.error, dependency)
            return self._attempt_failed(ran.job, message, ran.error)
        return self._complete(ran.job, ran.result)

    def fail(self, job: Job, message: JobMessage, error: str, stack: str | None) -> str:
        """Fail the job for good: its message to the DLQ first, then the failed record.

        The DLQ first: if recording fails afterwards, the redelivery finds the job still
        active and fails it again; the reconciler drops a DLQ copy whose job is gone.
        """
        self.runtime.transport.dead_letter(message, error=error)
        failed = job.moved_to(
            JobState.FAILED, error=error, stacktrace=stack, finished_at=self.runtime.clock(), lease_until=None
        )
        try:
            stored = record_finished(self.runtime, failed, job)
        except StaleJob:
            return Outcome.SKIPPED
        logger.error("job failed", extra={"error": error, "attempt": stored.attempts})
        self._written(stored, EmfStatus.FAILED, announce=True)
        return Outcome.FAILED

    def flush(self) -> None:
        """Publish the buffered announcements and EMF lines (best effort)."""
        self._announcer.flush()
        self._emf.flush()

    def _complete(self, job: Job, result: object) -> str:
        now = self.runtime.clock()
        done = job.moved_to(
            JobState.COMPLETED,
            result=result,
            progress=100,
            finished_at=now,
            lease_until=None,
            error=None,
            stacktrace=None,
        )
        try:
            stored = record_finished(self.runtime, done, job)
        except StaleJob:
            logger.warning("job changed before it could be recorded completed")
            return Outcome.SKIPPED
        logger.info("job completed", extra={"attempt": stored.attempts})
        self._written(stored, EmfStatus.COMPLETED, announce=True)
        return Outcome.COMPLETED

    def _attempt_failed(self, job: Job, message: JobMessage, exc: BaseException) -> str:
        """Retry after the job's backoff while attempts are left and the error allows; else fail."""
        error = f"{type(exc).__name__}: {exc}"
        stack = "".join(traceback.format_exception(exc))[-MAX_STACKTRACE_CHARS:]
        delay = None
        if not isinstance(exc, UnrecoverableError):
            delay = next_retry_delay(backoff=job.backoff, attempts_made=job.attempts, max_attempts=job.max_attempts)
        if delay is None:
            return self.fail(job, message, error, stack)
        now = self.runtime.clock()
        retry = job.moved_to(
            JobState.WAITING,
            error=error,
            stacktrace=stack,
            lease_until=None,
            run_at=now + dt.timedelta(seconds=delay),
            outage_deferrals=0,
        ).with_log(f"attempt {job.attempts} failed: {error}; next attempt in {delay} s")
        try:
            stored = self.runtime.store.replace(retry, expected_version=job.version, previous=job)
        except StaleJob:
            return Outcome.SKIPPED
        logger.warning("job attempt failed; retrying", extra={"delay_seconds": delay, "error": error})
        self._written(stored, EmfStatus.RETRYING, announce=False)
        raise RedeliverLater(delay, Outcome.RETRYING, error)

    def _outage(self, job: Job, message: JobMessage, exc: BaseException, dependency: outages.Dependency) -> str:
        """Give the attempt back: a dependency was unreachable, which says nothing of the job.

        The job waits again with the attempt it spent taken back, in the same write, for a wait
        that grows with each consecutive outage (full jitter). Then a fresh message wakes it: SQS
        counts every receive toward the redrive (attempts + 5), so keeping this message through a
        long outage would dead-letter it. If the send fails the message is kept instead.
        """
        deferrals = job.outage_deferrals + 1
        delay = outages.outage_delay(deferrals)
        what = "unreachable" if dependency is not outages.Dependency.AWS else "throttled or unavailable"
        back = job.moved_to(
            JobState.WAITING,
            attempts=max(0, job.attempts - 1),
            outage_deferrals=deferrals,
            lease_until=None,
            run_at=self.runtime.clock() + dt.timedelta(seconds=delay),
        ).with_log(f"{dependency} {what}; attempt not counted; next try in {delay:.0f} s ({type(exc).__name__})")
        try:
            self.runtime.store.replace(back, expected_version=job.version, previous=job)
        except StaleJob:
            return Outcome.SKIPPED
        logger.warning(
            "dependency unreachable; attempt given back",
            extra={"dependency": str(dependency), "delay_seconds": round(delay, 3), "deferrals": deferrals},
        )
        try:
            self.runtime.transport.send(message, delay_seconds=min(delay, MAX_DELAY_SECONDS))
        except Exception as send_failed:
            raise RedeliverLater(delay, Outcome.DEFERRED, f"{dependency} {what}") from send_failed
        return Outcome.REQUEUED

    def _written(self, job: Job, status: EmfStatus, *, announce: bool) -> None:
        """Count the written attempt (EMF) and keep a finished job's announcement, for `flush`."""
        self._emf.record(job, status, self.runtime.clock())
        if announce:
            self._announcer.add(job)
