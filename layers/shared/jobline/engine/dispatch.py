"""Dispatch: write a job's record, then send its message: the one place that pair happens.

A record that says its message is on the way (`message_sent`: a job `waiting`, or `delayed` for
a short delay) but has none would wait forever: nothing else wakes it. So when the send fails the
write is undone, by one rule per case, and the caller gets EnqueueFailed:

- a new record (`create`: enqueue, a recurring run, a callback) is removed, so the caller may
  simply add it again (a job id or key is free again);
- an existing record moved back onto its queue (`move`: retry, promote, the tick's release of a
  delayed job) is put back as it was, by a conditional write, so it may be moved again.

A record whose message is not sent now (`message_sent` false: a delay longer than SQS's) waits in
the store for the tick, which releases it through `move`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from jobline.core.errors import EnqueueFailed, StaleJob
from jobline.core.job import Job, JobMessage
from jobline.runtime import Runtime


def create(runtime: Runtime, job: Job, *, delay_seconds: float = 0) -> Job:
    """Store the new `job` and, if it says its message goes now, send it `delay_seconds` late.

    JobExists (its id is taken) propagates, having written and sent nothing. A failed send
    removes the record again and raises EnqueueFailed.
    """
    stored = runtime.store.create(job)
    if stored.message_sent:
        _send_or_undo(
            runtime,
            stored,
            delay_seconds,
            undo=lambda: runtime.store.delete(stored.id, expected_version=stored.version),
            failure=f"could not put job {stored.id} on queue {stored.queue!r}",
        )
    return stored


def move(runtime: Runtime, job: Job, moved: Job, *, delay_seconds: float = 0) -> Job:
    """Write `moved` (the stored `job` put back on its queue) over `job`, then send its message.

    StaleJob (someone changed the job since it was read) propagates, having sent nothing.
    A failed send puts `job` back as it was and raises EnqueueFailed.
    """
    stored = runtime.store.replace(moved, expected_version=job.version, previous=job)
    _send_or_undo(
        runtime,
        stored,
        delay_seconds,
        undo=lambda: runtime.store.replace(job, expected_version=stored.version, previous=stored),
        failure=f"could not put job {job.id} back on queue {job.queue!r}",
    )
    return stored


def _send_or_undo(
    runtime: Runtime, stored: Job, delay_seconds: float, *, undo: Callable[[], object], failure: str
) -> None:
    """Send `stored`'s message; when that fails, `undo` its write and raise EnqueueFailed."""
    try:
        runtime.transport.send(JobMessage.for_job(stored), delay_seconds=delay_seconds)
    except Exception as exc:
        # The undo is conditional on the version just written: a job someone else moved since
        # (started, removed, moved again) is theirs now, and their record stands.
        with contextlib.suppress(StaleJob):
            undo()
        raise EnqueueFailed(f"{failure}: {exc}") from exc
