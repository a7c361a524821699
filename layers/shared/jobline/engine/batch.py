"""What the worker knows of the SQS batch it is handling, and how far ahead it claims.

A batch's jobs and the pause flags are read up front, in two store round trips instead of two
per record. A message handled on its own (`Worker.process` outside `handle_batch`, as a job run
inside its request is) is a batch of one that read nothing up front: its job and the flags are
read for it alone, and nothing is claimed ahead.

Claiming ahead: while a batch's jobs each run within the budget, the worker takes the next plain
ones together with the one it is about to run (one store round trip for several), doubling the
claim up to its maximum; a slow job brings it back to one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from jobline.core.job import Job, JobMessage
from jobline.core.queues import QueueSettings, get_queue
from jobline.core.states import JobState
from jobline.store.ports import JobStore, Pauses
from jobline.telemetry.observability import logger

# While a batch's jobs each run within this budget, the worker claims the next ones together,
# doubling up to this many at once.
CLAIM_AHEAD_BUDGET_SECONDS = 0.05
CLAIM_AHEAD_MAX = 100


@dataclasses.dataclass
class Batch:
    """The messages of one delivery, what was read of them up front, and the jobs claimed ahead."""

    store: JobStore
    messages: list[tuple[str, JobMessage]]  # (message id, message), in the order they are handled
    jobs: dict[str, Job]  # read up front; each serves its first message only
    paused: Pauses | None  # None: read the flags per message
    claimed: dict[str, Job] = dataclasses.field(default_factory=dict)  # by message id, claimed ahead
    claim_size: int = 1
    last_claim: tuple[float, int] = (0.0, 0)  # (monotonic time, jobs) of the latest claim

    @classmethod
    def read(cls, store: JobStore, event: dict[str, Any]) -> Batch:
        """Read the SQS event's jobs and the pauses in two round trips, not two per record."""
        messages = []
        for record in event.get("Records", []):
            try:
                messages.append((record["messageId"], JobMessage.model_validate_json(record["body"])))
            except (KeyError, ValueError):
                continue  # the record fails on its own when its turn comes
        try:
            jobs = store.get_many([message.job_id for _, message in messages])
            paused = store.pauses()
        except Exception:  # noqa: BLE001 - each record reads for itself then, and fails on its own
            logger.warning("batch prefetch failed; reading job by job", exc_info=True)
            jobs, paused = {}, None
        return cls(store=store, messages=messages, jobs=jobs, paused=paused)

    @classmethod
    def of_one(cls, store: JobStore) -> Batch:
        """A message on its own: nothing read up front, nothing to claim ahead."""
        return cls(store=store, messages=[], jobs={}, paused=None)

    def job(self, job_id: str) -> Job | None:
        """The message's job: as read up front for its first message, else from the store."""
        prefetched = self.jobs.pop(job_id, None)
        return prefetched if prefetched is not None else self.store.get(job_id)

    def stops(self, job: Job) -> bool:
        """Whether the job's queue is paused, or its tenant's jobs on that queue are."""
        if self.paused is not None:
            return self.paused.stops(job.queue, job.tenant_id)
        return self.store.is_paused(job.queue, tenant_id=job.tenant_id)

    def take_claimed(self, message_id: str) -> Job | None:
        """The message's job if an earlier message of the batch claimed it ahead (leased, not started)."""
        return self.claimed.pop(message_id, None) if message_id else None

    def next_claim_size(self, now: float) -> int:
        """Claim ahead only while jobs run fast: a claim whose jobs all ran within the budget
        doubles the next one; a slow job brings it back to one."""
        claimed_at, count = self.last_claim
        if count and now - claimed_at <= CLAIM_AHEAD_BUDGET_SECONDS * count:
            self.claim_size = min(CLAIM_AHEAD_MAX, self.claim_size * 2)
        else:
            self.claim_size = 1
        return self.claim_size

    def claimable_after(
        self, message_id: str, limit: int, timeout: Callable[[Job, QueueSettings], float]
    ) -> list[tuple[str, Job, float]]:
        """Up to `limit` of the batch's next messages whose jobs can be taken without a question:
        waiting, of this dispatch, in a running queue without a rate limit, attempts left; each
        with its message id and its attempt's timeout. They are no longer served as read up front."""
        if limit <= 0 or self.paused is None:
            return []
        ids = [mid for mid, _ in self.messages]
        try:
            after = ids.index(message_id) + 1
        except ValueError:
            return []
        taken: list[tuple[str, Job, float]] = []
        seen = {job.id for job in self.claimed.values()}
        for mid, message in self.messages[after:]:
            if len(taken) >= limit:
                break
            job = self.jobs.get(message.job_id)
            if job is None or message.job_id in seen:
                continue
            seen.add(message.job_id)
            settings = get_queue(job.queue)
            if (
                job.state is JobState.WAITING
                and job.dispatch == message.dispatch
                and not self.paused.stops(job.queue, job.tenant_id)
                and settings.rate_limit is None
                and job.attempts < job.max_attempts
            ):
                del self.jobs[message.job_id]
                taken.append((mid, job, timeout(job, settings)))
        return taken

    def record_claim(self, ahead: list[str], outcomes: list[Job | Exception], at: float) -> None:
        """Keep the jobs claimed ahead (by message id) for their turn; `at` (monotonic) times the claim."""
        for ahead_id, outcome in zip(ahead, outcomes, strict=True):
            if isinstance(outcome, Job):
                self.claimed[ahead_id] = outcome
        self.last_claim = (at, len(ahead) + 1)
