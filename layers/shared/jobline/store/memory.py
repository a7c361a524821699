"""The in-memory fake job store, shipped with the library so unit tests need no services."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Sequence

from jobline.core.errors import JobExists, ScheduleConflict, StaleJob
from jobline.core.job import Job
from jobline.core.repeat import Schedule
from jobline.core.states import JobState
from jobline.store.ports import JobStore, Pauses, empty_counts, window_bounds


class MemoryJobStore(JobStore):
    """A dict behind a lock, with the same guarantees as the real adapters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._paused: set[str] = set()
        self._paused_tenants: set[tuple[str, str]] = set()
        self._rate: dict[tuple[str, int], int] = defaultdict(int)
        self._schedules: dict[str, Schedule] = {}
        self._counters: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def create(self, job: Job) -> Job:
        with self._lock:
            stored = _swap(self._jobs, job, expected_version=None)
            if stored is None:
                raise JobExists(self._jobs[job.id].model_copy(deep=True))
            return stored

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else job.model_copy(deep=True)

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Job]:
        with self._lock:
            return {i: self._jobs[i].model_copy(deep=True) for i in dict.fromkeys(job_ids) if i in self._jobs}

    def replace(self, job: Job, *, expected_version: int, previous: Job | None = None) -> Job:
        with self._lock:
            stored = _swap(self._jobs, job, expected_version=expected_version)
            if stored is None:
                raise StaleJob(job.id, expected_version)
            return stored

    def replace_counted(
        self, job: Job, *, expected_version: int, previous: Job | None, counter: str, increments: dict[str, float]
    ) -> Job:
        """`replace` and the increments under one lock; the sums are worked out before either is
        written, so a counter that cannot take them leaves the job unwritten too."""
        with self._lock:
            fields = self._counters.get(counter, {})
            sums = {field: fields.get(field, 0.0) + amount for field, amount in increments.items()}
            stored = _swap(self._jobs, job, expected_version=expected_version)
            if stored is None:
                raise StaleJob(job.id, expected_version)
            self._counters[counter].update(sums)
            return stored

    def delete(self, job_id: str, *, expected_version: int) -> None:
        with self._lock:
            current = self._jobs.get(job_id)
            if current is None or current.version != expected_version:
                raise StaleJob(job_id, expected_version)
            del self._jobs[job_id]

    def counts(self, queue: str, *, tenant_id: str | None = None) -> dict[JobState, int]:
        counts = empty_counts()
        with self._lock:
            for job in self._jobs.values():
                if job.queue == queue and (tenant_id is None or job.tenant_id == tenant_id):
                    counts[job.state] += 1
        return counts

    def _select(self, queue: str, state: JobState, tenant_id: str | None) -> list[Job]:
        return [
            j
            for j in self._jobs.values()
            if j.queue == queue and j.state is state and (tenant_id is None or j.tenant_id == tenant_id)
        ]

    def _list_page(
        self, queue: str, state: JobState, tenant_id: str | None, *, offset: int, limit: int, descending: bool
    ) -> list[Job]:
        with self._lock:
            jobs = sorted(
                self._select(queue, state, tenant_id), key=lambda j: (j.index_time(), j.id), reverse=descending
            )
            return [j.model_copy(deep=True) for j in jobs[offset : offset + limit]]

    def list_due(
        self, queue: str, state: JobState, *, until: dt.datetime, limit: int, tenant_id: str | None = None
    ) -> list[Job]:
        with self._lock:
            jobs = sorted(
                (j for j in self._select(queue, state, tenant_id) if j.index_time() <= until),
                key=lambda j: (j.index_time(), j.id),
            )
            return [j.model_copy(deep=True) for j in jobs[:limit]]

    def set_paused(self, queue: str, paused: bool, *, tenant_id: str | None = None) -> None:
        with self._lock:
            flags: set = self._paused if tenant_id is None else self._paused_tenants
            key = queue if tenant_id is None else (queue, tenant_id)
            if paused:
                flags.add(key)
            else:
                flags.discard(key)

    def pauses(self) -> Pauses:
        with self._lock:
            return Pauses(queues=frozenset(self._paused), tenants=frozenset(self._paused_tenants))

    def take_rate_slot(self, queue: str, *, max_jobs: int, per_seconds: int, now: dt.datetime) -> float:
        window, left = window_bounds(now, per_seconds)
        with self._lock:
            if self._rate[(queue, window)] >= max_jobs:
                return left
            self._rate[(queue, window)] += 1
            return 0.0

    def take_quota(self, name: str, *, amount: int, limit: int, per_seconds: int, now: dt.datetime) -> float:
        window, left = window_bounds(now, per_seconds)
        with self._lock:
            if self._rate[(f"quota:{name}", window)] + amount > limit:
                return left
            self._rate[(f"quota:{name}", window)] += amount
            return 0.0

    def save_schedule(self, schedule: Schedule, *, expected_version: int | None = None) -> Schedule:
        with self._lock:
            stored = _swap(self._schedules, schedule, expected_version=expected_version)
            if stored is None:
                raise ScheduleConflict(schedule.id)
            return stored

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        with self._lock:
            found = self._schedules.get(schedule_id)
            return None if found is None else found.model_copy(deep=True)

    def list_schedules(self) -> list[Schedule]:
        with self._lock:
            return [s.model_copy(deep=True) for s in self._schedules.values()]

    def delete_schedule(self, schedule_id: str) -> bool:
        with self._lock:
            return self._schedules.pop(schedule_id, None) is not None

    def add_to_counters(self, name: str, increments: dict[str, float]) -> None:
        with self._lock:
            for field, amount in increments.items():
                self._counters[name][field] += amount

    def read_counters(self, name: str) -> dict[str, float]:
        with self._lock:
            return dict(self._counters.get(name, {}))

    def ping(self) -> None:
        return None


def _swap[Record: (Job, Schedule)](
    records: dict[str, Record], record: Record, *, expected_version: int | None
) -> Record | None:
    """The compare-and-swap every versioned write of the fake makes (the caller holds the lock).

    Stores a copy of `record` at the next version if the stored one is at `expected_version`
    (or, when that is None, if there is none), and returns another copy; None when it is not.
    """
    current = records.get(record.id)
    if (None if current is None else current.version) != expected_version:
        return None
    stored = record.model_copy(update={"version": (expected_version or 0) + 1}, deep=True)
    records[record.id] = stored
    return stored.model_copy(deep=True)
