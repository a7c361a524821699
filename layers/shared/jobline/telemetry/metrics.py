"""Job metrics in the job store, and the Prometheus read model of them.

Processed counts by outcome and a duration histogram per job type, all in the queue's one
counter set, written with the job's outcome (`engine.outcomes.record_finished`; this module only
says what is counted). Prometheus' `/metrics` reads them: counters and histograms, never
decreasing, unlike the retained completed/failed counts that retention lowers.

The same attempts also go to CloudWatch as embedded metric format lines: `telemetry.emf`.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict

from jobline.core.job import Job
from jobline.runtime import Runtime

# Upper bounds of the duration histogram, in seconds (Prometheus' `le`); +Inf is implied.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OUTCOMES = ("completed", "failed")


def counter_name(queue: str) -> str:
    return f"jobs:{queue}"


def _typed(field: str, job_type: str) -> str:
    """A histogram field of one job type: `duration_sum/bookings-csv`. The part before the first
    '/' is the field (which never holds one), the rest the job type (which may)."""
    return f"{field}/{job_type}"


def increments(job: Job) -> dict[str, float]:
    """The counter increments for a job that just finished: its outcome, and its last attempt's
    length in its job type's duration histogram."""
    seconds = 0.0
    if job.started_at is not None and job.finished_at is not None:
        seconds = max(0.0, (job.finished_at - job.started_at).total_seconds())
    increments = {
        f"processed:{job.state.value}": 1.0,
        _typed("duration_sum", job.name): seconds,
        _typed("duration_count", job.name): 1.0,
    }
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            increments[_typed(f"le:{bound}", job.name)] = 1.0
    return increments


@dataclasses.dataclass(frozen=True)
class DurationHistogram:
    """One job type's final-attempt durations (cumulative buckets, as Prometheus has them)."""

    job_type: str
    buckets: list[tuple[float, int]]
    duration_sum: float
    duration_count: int


@dataclasses.dataclass(frozen=True)
class QueueMetrics:
    """One queue's processed counts and a duration histogram per job type."""

    queue: str
    processed: dict[str, int]
    durations: list[DurationHistogram]

    @property
    def duration_count(self) -> int:
        """Finished jobs measured, every job type together."""
        return sum(h.duration_count for h in self.durations)

    @property
    def duration_sum(self) -> float:
        return sum(h.duration_sum for h in self.durations)

    @property
    def buckets(self) -> list[tuple[float, int]]:
        """The queue's histogram, every job type together."""
        bounds = [*DURATION_BUCKETS, math.inf]
        return [(bound, sum(dict(h.buckets)[bound] for h in self.durations)) for bound in bounds]


def read_metrics(runtime: Runtime, queue: str) -> QueueMetrics:
    """The queue's counters as Prometheus exposes them: one store read."""
    raw = runtime.store.read_counters(counter_name(queue))
    by_type: dict[str, dict[str, float]] = defaultdict(dict)
    for key, value in raw.items():
        field, slash, job_type = key.partition("/")
        if slash:
            by_type[job_type][field] = value
    durations = []
    for job_type, fields in sorted(by_type.items()):
        count = int(fields.get("duration_count", 0))
        buckets = [(bound, int(fields.get(f"le:{bound}", 0))) for bound in DURATION_BUCKETS]
        durations.append(
            DurationHistogram(
                job_type=job_type,
                buckets=[*buckets, (math.inf, count)],
                duration_sum=fields.get("duration_sum", 0.0),
                duration_count=count,
            )
        )
    return QueueMetrics(
        queue=queue,
        processed={outcome: int(raw.get(f"processed:{outcome}", 0)) for outcome in OUTCOMES},
        durations=durations,
    )
