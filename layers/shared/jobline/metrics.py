"""Job metrics kept in the job store: processed counts by outcome and a duration histogram.

Prometheus' `/metrics` reads them (counters and a histogram, never decreasing, unlike
the retained completed/failed counts that retention lowers). Recording is best effort:
a metrics write that fails is logged and the job's outcome stands.
"""

from __future__ import annotations

import dataclasses
import math

from jobline.jobs import Job
from jobline.observability import logger
from jobline.runtime import Runtime

# Upper bounds of the duration histogram, in seconds (Prometheus' `le`); +Inf is implied.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OUTCOMES = ("completed", "failed")


def _counter_name(queue: str) -> str:
    return f"jobs:{queue}"


def record_outcome(runtime: Runtime, job: Job) -> None:
    """Count a job that just finished (completed or failed) and the length of its last attempt."""
    seconds = 0.0
    if job.started_at is not None and job.finished_at is not None:
        seconds = max(0.0, (job.finished_at - job.started_at).total_seconds())
    increments = {f"processed:{job.state.value}": 1.0, "duration_sum": seconds, "duration_count": 1.0}
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            increments[f"le:{bound}"] = 1.0
    try:
        runtime.store.add_to_counters(_counter_name(job.queue), increments)
    except Exception:  # noqa: BLE001 - a lost sample must not undo a recorded outcome
        logger.exception("job metrics not recorded", extra={"job_id": job.id, "queue": job.queue})


@dataclasses.dataclass(frozen=True)
class QueueMetrics:
    """One queue's processed counts and duration histogram (cumulative buckets, as Prometheus has them)."""

    queue: str
    processed: dict[str, int]
    buckets: list[tuple[float, int]]
    duration_sum: float
    duration_count: int


def read_metrics(runtime: Runtime, queue: str) -> QueueMetrics:
    """The queue's counters as Prometheus exposes them."""
    raw = runtime.store.read_counters(_counter_name(queue))
    count = int(raw.get("duration_count", 0))
    buckets = [(bound, int(raw.get(f"le:{bound}", 0))) for bound in DURATION_BUCKETS]
    return QueueMetrics(
        queue=queue,
        processed={outcome: int(raw.get(f"processed:{outcome}", 0)) for outcome in OUTCOMES},
        buckets=[*buckets, (math.inf, count)],
        duration_sum=raw.get("duration_sum", 0.0),
        duration_count=count,
    )
