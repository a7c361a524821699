"""The one job-state enum and the transitions it allows."""

from __future__ import annotations

import enum


class JobState(enum.StrEnum):
    """Where a job is in its life; `paused` is a queue property, not a job state."""

    DELAYED = "delayed"
    WAITING = "waiting"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_finished(self) -> bool:
        return self in FINISHED_STATES


FINISHED_STATES = frozenset({JobState.COMPLETED, JobState.FAILED})

# Every legal move. A store write whose (from, to) pair is not here is a bug, so
# `jobs.Job.moved_to` refuses it before any I/O happens.
ALLOWED_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    # waiting/delayed -> failed: the tick fails a job whose message SQS redrove to the DLQ before it ran
    # (the batch it rode in kept killing its worker), since no message is left to run it.
    JobState.DELAYED: frozenset({JobState.WAITING, JobState.ACTIVE, JobState.DELAYED, JobState.FAILED}),
    JobState.WAITING: frozenset({JobState.ACTIVE, JobState.WAITING, JobState.DELAYED, JobState.FAILED}),
    # active -> active: a redelivery takes over a job whose worker died (lease expired).
    JobState.ACTIVE: frozenset(
        {JobState.ACTIVE, JobState.COMPLETED, JobState.FAILED, JobState.WAITING, JobState.DELAYED}
    ),
    JobState.COMPLETED: frozenset({JobState.WAITING}),
    JobState.FAILED: frozenset({JobState.WAITING}),
}
