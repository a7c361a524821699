"""Named errors of the job core; the API maps them to HTTP answers by type."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobline.core.job import Job
    from jobline.core.states import JobState


class JoblineError(Exception):
    """Base of every error the job core raises on purpose."""


class NotFound(JoblineError):
    """Base of every "no such thing (for you)" error: the API answers 404."""


class Conflict(JoblineError):
    """Base of every "not in a state that allows this" error: the API answers 409."""


class UnknownQueue(NotFound):
    def __init__(self, queue: str) -> None:
        super().__init__(f"unknown queue {queue!r}")
        self.queue = queue


class UnknownJobType(JoblineError):
    def __init__(self, queue: str, name: str) -> None:
        super().__init__(f"queue {queue!r} has no job type {name!r}")
        self.queue = queue
        self.name = name


class JobNotFound(NotFound):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id!r} not found")
        self.job_id = job_id


class JobExists(JoblineError):
    """Raised by `JobStore.create` when the id is taken; carries the stored job."""

    def __init__(self, existing: Job) -> None:
        super().__init__(f"job {existing.id!r} already exists")
        self.existing = existing


class StaleJob(JoblineError):
    """A conditional write lost: the stored job changed since it was read."""

    def __init__(self, job_id: str, expected_version: int) -> None:
        super().__init__(f"job {job_id!r} changed since version {expected_version}")
        self.job_id = job_id
        self.expected_version = expected_version


class IllegalTransition(Conflict):
    def __init__(self, job_id: str, current: JobState, wanted: JobState) -> None:
        super().__init__(f"job {job_id!r} cannot move from {current} to {wanted}")
        self.job_id = job_id
        self.current = current
        self.wanted = wanted


class InvalidPayload(JoblineError):
    """The job data does not match its job type's model; `errors` is pydantic's list."""

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__("invalid job data")
        self.errors: list[dict[str, Any]] = [dict(error) for error in errors]

    def relocated(self, locate: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> InvalidPayload:
        """The same errors with each location mapped by `locate`: where the request that carried the
        payload puts its fields (`data.to` in a queue add, `functionName` for a task's name)."""
        return InvalidPayload([{**error, "loc": locate(tuple(error.get("loc", ())))} for error in self.errors])


class JobTimeout(JoblineError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"job exceeded its timeout of {seconds:g} s")
        self.seconds = seconds


class JobCancelled(JoblineError):
    """The job was removed (or otherwise taken away) while its handler ran."""


class EnqueueFailed(JoblineError):
    """The record could not be announced on its queue; nothing was kept."""


class ScheduleConflict(JoblineError):
    """A conditional schedule write lost: the schedule exists already, or changed since it was read."""

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"schedule {schedule_id!r} changed concurrently")
        self.schedule_id = schedule_id


class UnrecoverableError(JoblineError):
    """Raised by a job function to fail the job at once, without its remaining attempts
    (BullMQ's UnrecoverableError)."""


class JobLocked(Conflict):
    """The job is running; it cannot be removed or changed until its attempt ends."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id!r} is active")
        self.job_id = job_id
