"""What a running job's function can see and do: progress, log lines, deadline, tenant."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jobline.core.errors import JobCancelled, JobTimeout, StaleJob
from jobline.core.states import JobState

if TYPE_CHECKING:
    from jobline.core.job import Job
    from jobline.runtime import Runtime


class JobContext:
    """Handed to a job function with its payload. Writes go through the store as
    conditional writes; a job removed meanwhile raises JobCancelled in the function."""

    def __init__(self, runtime: Runtime, job: Job, *, timeout_seconds: float) -> None:
        self._runtime = runtime
        self._job = job
        self._timeout_seconds = timeout_seconds
        self._deadline = time.monotonic() + timeout_seconds

    @property
    def job(self) -> Job:
        """The job as last written by this attempt."""
        return self._job

    @property
    def job_id(self) -> str:
        return self._job.id

    @property
    def tenant_id(self) -> str:
        return self._job.tenant_id

    @property
    def user_id(self) -> str | None:
        return self._job.user_id

    @property
    def attempt(self) -> int:
        return self._job.attempts

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    def remaining_seconds(self) -> float:
        """Seconds left before this attempt times out."""
        return self._deadline - time.monotonic()

    def check_deadline(self) -> None:
        """Raise JobTimeout if the attempt is out of time: long loops call this between steps."""
        if self.remaining_seconds() <= 0:
            raise JobTimeout(self._timeout_seconds)

    def progress(self, percent: float, *, log: str | None = None) -> None:
        """Record progress (0-100), optionally with a log line."""
        value = max(0, min(100, int(percent)))
        self._write(
            lambda job: (
                job.model_copy(update={"progress": value})
                if log is None
                else job.model_copy(update={"progress": value}).with_log(log)
            )
        )

    def log(self, line: str) -> None:
        """Append a line to the job's bounded log."""
        self._write(lambda job: job.with_log(line))

    def checkpoint(self, result: Any, *, progress: float | None = None) -> None:
        """Keep a result-so-far with the job: a retried attempt reads it back from `ctx.job.result`
        (how a campaign remembers which recipients already got their message)."""
        update: dict[str, Any] = {"result": result}
        if progress is not None:
            update["progress"] = max(0, min(100, int(progress)))
        self._write(lambda job: job.model_copy(update=update))

    def _write(self, change: Any) -> None:
        store = self._runtime.store
        for _ in range(3):
            current = self._job
            try:
                self._job = store.replace(change(current), expected_version=current.version)
                return
            except StaleJob:
                fresh = store.get(current.id)
                if fresh is None or fresh.state is not JobState.ACTIVE or fresh.attempts != current.attempts:
                    raise JobCancelled(f"job {current.id} was removed or taken over while running") from None
                self._job = fresh
        raise JobCancelled(f"job {self._job.id} keeps changing under its worker")
