"""The job-store port: five small interfaces, and `JobStore`, the whole of them.

Adapters: `dynamodb`, `redis`, `memory` (the fake). Each implements `JobStore`; code that needs
one part of a store (the schedules, the pause flags...) can take the small interface instead.

- `JobRecords`: the jobs themselves, their per-state counts and listings;
- `ScheduleRecords`: the repeat schedules the tick reads;
- `QueueFlags`: which queues (or one tenant's jobs on a queue) are paused;
- `RateWindows`: the fixed windows that rate-limit job starts;
- `Counters`: named sets of numbers that only grow (metrics).

Every write that changes a job is a compare-and-swap on `Job.version`: the adapter
writes only if the stored version is the one the caller read, and raises `StaleJob`
otherwise. Which state moves are legal is decided before the write, by
`Job.moved_to`; the store guarantees that two writers cannot both win.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
from collections.abc import Sequence

from jobline.core.job import Job
from jobline.core.repeat import Schedule
from jobline.core.states import FINISHED_STATES, JobState

# Listing a page reads past `offset`; an index-free store (DynamoDB) pays for that,
# so one page is bounded.
MAX_PAGE = 1_000


def newest_first(state: JobState) -> bool:
    """Finished jobs list newest first (what an operator wants); the rest oldest first."""
    return state in FINISHED_STATES


def empty_counts() -> dict[JobState, int]:
    return dict.fromkeys(JobState, 0)


@dataclasses.dataclass(frozen=True)
class Pauses:
    """What is paused: whole queues (by an operator, for everyone) and one tenant's jobs on a
    queue (by that tenant's admin; the other tenants' jobs run)."""

    queues: frozenset[str] = frozenset()
    tenants: frozenset[tuple[str, str]] = frozenset()  # (queue, tenant_id)

    def stops(self, queue: str, tenant_id: str | None = None) -> bool:
        """Whether a job of `tenant_id` on `queue` must wait (its queue or its tenant there is paused)."""
        return queue in self.queues or (tenant_id is not None and (queue, tenant_id) in self.tenants)


def tenant_pause_key(queue: str, tenant_id: str) -> str:
    """How a store keeps one tenant's pause of a queue as one string: queue names hold no '/'."""
    return f"{queue}/{tenant_id}"


def tenant_pause_of(key: str) -> tuple[str, str]:
    """The (queue, tenant_id) of a `tenant_pause_key`."""
    queue, _, tenant_id = key.partition("/")
    return queue, tenant_id


@dataclasses.dataclass(frozen=True)
class Replacement:
    """One write of `replace_many`: `job` over the stored `previous` copy at `expected_version`."""

    job: Job
    expected_version: int
    previous: Job | None = None


def window_bounds(now: dt.datetime, per_seconds: int) -> tuple[int, float]:
    """The fixed rate window that `now` falls in: its number and the seconds left in it."""
    seconds = now.timestamp()
    window = int(seconds // per_seconds)
    return window, (window + 1) * per_seconds - seconds


class JobRecords(abc.ABC):
    """Where jobs live. The store is the truth about a job; SQS only carries wake-up calls."""

    @abc.abstractmethod
    def create(self, job: Job) -> Job:
        """Store a new job at version 1; raises JobExists with the stored job if the id is taken."""

    @abc.abstractmethod
    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Job]:
        """The stored jobs among `job_ids`, by id (absent ids are left out); stores read them at once."""
        jobs = {}
        for job_id in dict.fromkeys(job_ids):
            job = self.get(job_id)
            if job is not None:
                jobs[job_id] = job
        return jobs

    @abc.abstractmethod
    def replace(self, job: Job, *, expected_version: int, previous: Job | None = None) -> Job:
        """Write `job` if the stored version is `expected_version`; returns it at the next version.

        Raises StaleJob when the stored job changed or is gone. Keeps the state
        indexes and counts in step with the write. `previous` is the job as the caller
        read it at `expected_version`: a store that needs the old state (for its counts)
        uses it instead of reading again; the version condition still guards the write.
        """

    @abc.abstractmethod
    def replace_counted(
        self, job: Job, *, expected_version: int, previous: Job | None, counter: str, increments: dict[str, float]
    ) -> Job:
        """`replace` and `Counters.add_to_counters(counter, increments)` as one write: both take
        effect or neither does, in every store.

        A StaleJob (or any other failure) leaves the counters as they were, and a counter that
        cannot take the increments leaves the job unwritten; a reader never sees one without the
        other, and a worker that dies mid-call cannot leave a counted outcome unrecorded or a
        recorded one uncounted. A call sent again after its reply was lost counts once.
        """

    def replace_many(self, writes: Sequence[Replacement]) -> list[Job | Exception]:
        """Several independent `replace` calls, each with its own outcome: the stored job, or the
        exception that call raised (StaleJob when it lost). Stores send them in one round trip."""
        outcomes: list[Job | Exception] = []
        for write in writes:
            try:
                stored = self.replace(write.job, expected_version=write.expected_version, previous=write.previous)
                outcomes.append(stored)
            except Exception as exc:  # noqa: BLE001 - each write reports its own failure
                outcomes.append(exc)
        return outcomes

    @abc.abstractmethod
    def delete(self, job_id: str, *, expected_version: int) -> None:
        """Remove the job if it is still at `expected_version`; raises StaleJob otherwise."""

    @abc.abstractmethod
    def counts(self, queue: str, *, tenant_id: str | None = None) -> dict[JobState, int]:
        """Jobs per state in `queue` (for one tenant if given), in constant time."""

    def list_jobs(
        self,
        queue: str,
        state: JobState,
        *,
        offset: int = 0,
        limit: int = 100,
        tenant_id: str | None = None,
    ) -> list[Job]:
        """A page of the jobs in `state` (one tenant's if given), ordered by `Job.index_time` then id,
        finished ones newest first. A page holds at most MAX_PAGE jobs; a limit of 0 or less, none."""
        limit = min(limit, MAX_PAGE)
        if limit <= 0:
            return []
        return self._list_page(
            queue, state, tenant_id, offset=max(offset, 0), limit=limit, descending=newest_first(state)
        )

    @abc.abstractmethod
    def _list_page(
        self, queue: str, state: JobState, tenant_id: str | None, *, offset: int, limit: int, descending: bool
    ) -> list[Job]:
        """`list_jobs` once the page is settled: 0 <= `offset`, 0 < `limit` <= MAX_PAGE, and the order."""

    @abc.abstractmethod
    def list_due(
        self, queue: str, state: JobState, *, until: dt.datetime, limit: int, tenant_id: str | None = None
    ) -> list[Job]:
        """Up to `limit` jobs in `state` (one tenant's if given) with index time at or before `until`, oldest first.

        Serves the delayed-job release (due run_at) and age-based retention (finished_at).
        """


class ScheduleRecords(abc.ABC):
    """The repeat schedules (cron or interval) that the per-minute tick turns into jobs."""

    @abc.abstractmethod
    def save_schedule(self, schedule: Schedule, *, expected_version: int | None = None) -> Schedule:
        """Write a schedule, returned at the next version: new if `expected_version` is None
        (ScheduleConflict if the id exists), else only over that version (ScheduleConflict otherwise)."""

    @abc.abstractmethod
    def get_schedule(self, schedule_id: str) -> Schedule | None:
        """The schedule with this id, or None."""

    @abc.abstractmethod
    def list_schedules(self) -> list[Schedule]:
        """Every schedule (they number in the hundreds, not millions: one read serves the tick)."""

    @abc.abstractmethod
    def delete_schedule(self, schedule_id: str) -> bool:
        """Remove a schedule; False if there was none."""


class QueueFlags(abc.ABC):
    """Which queues are paused, for everyone or for one tenant's jobs."""

    @abc.abstractmethod
    def set_paused(self, queue: str, paused: bool, *, tenant_id: str | None = None) -> None:
        """Record whether `queue` is paused: for everyone, or only for `tenant_id`'s jobs when given."""

    @abc.abstractmethod
    def pauses(self) -> Pauses:
        """The paused queues and the (queue, tenant) pauses, in one read."""

    def paused_queues(self) -> set[str]:
        """The names of the queues paused for everyone."""
        return set(self.pauses().queues)

    def is_paused(self, queue: str, *, tenant_id: str | None = None) -> bool:
        """Whether `queue` is paused for everyone or, when `tenant_id` is given, for that tenant."""
        return self.pauses().stops(queue, tenant_id)


class RateWindows(abc.ABC):
    """Fixed windows counting job starts per queue (or per queue and tenant), for the queues' rate
    limits, and uses per named quota (a tenant's recipients per day and channel)."""

    @abc.abstractmethod
    def take_rate_slot(self, queue: str, *, max_jobs: int, per_seconds: int, now: dt.datetime) -> float:
        """Count one job start against `queue`'s fixed window.

        Returns 0 when the start is allowed, else the seconds until the window ends
        (the start is then not counted).
        """

    @abc.abstractmethod
    def take_quota(self, name: str, *, amount: int, limit: int, per_seconds: int, now: dt.datetime) -> float:
        """Count `amount` uses against the fixed window of `name` (a tenant's e-mails of a day, say),
        atomically, if the window's count stays within `limit`.

        Returns 0 when they were counted, else the seconds until the window ends (nothing is
        then counted: a job that does not fit whole spends none of the quota).
        """


class Counters(abc.ABC):
    """Named sets of fields that only grow (the metrics' counts and sums)."""

    @abc.abstractmethod
    def add_to_counters(self, name: str, increments: dict[str, float]) -> None:
        """Add each increment to its field of the counter set `name`, atomically (metrics)."""

    @abc.abstractmethod
    def read_counters(self, name: str) -> dict[str, float]:
        """The fields of the counter set `name` (empty when nothing was counted)."""


class JobStore(JobRecords, ScheduleRecords, QueueFlags, RateWindows, Counters):
    """A whole store, as the Runtime holds it: every part above, behind one connection."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise if the store cannot be reached."""
