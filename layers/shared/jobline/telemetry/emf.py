"""Job metrics as CloudWatch embedded metric format (Powertools Metrics).

`JobsProcessed`, `JobDuration`, `JobWaitTime` and `JobAttempts` by queue and status, one EMF
line per (queue, status) after each batch, which CloudWatch turns into metrics from the logs
without an API call. The dashboard and the alarms in template.yaml read these.

Publishing is best effort: a line that cannot be printed is logged and the jobs' outcomes stand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections import defaultdict
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from jobline.core.job import Job
from jobline.telemetry.observability import METRICS_NAMESPACE, SERVICE, logger

# EMF takes at most 100 values of one metric in one line.
EMF_MAX_VALUES = 100


class EmfStatus(enum.StrEnum):
    """The `Status` dimension of the EMF job metrics: how an attempt ended."""

    COMPLETED = "completed"
    FAILED = "failed"  # out of attempts (or unrecoverable): the job is failed
    RETRYING = "retrying"  # the attempt failed and the job waits for the next one


@dataclasses.dataclass
class _Samples:
    count: int = 0
    duration_ms: list[float] = dataclasses.field(default_factory=list)
    wait_ms: list[float] = dataclasses.field(default_factory=list)
    attempts: list[float] = dataclasses.field(default_factory=list)


def _milliseconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds() * 1000)


class EmfRecorder:
    """Collects the attempts a batch finished and prints them as EMF, one line per (queue, status).

    Samples are gathered as plain numbers while the batch runs and handed to Powertools only
    at `flush`, so a job costs a few list appends, not a metrics object.
    """

    def __init__(self) -> None:
        self._samples: dict[tuple[str, str], _Samples] = defaultdict(_Samples)

    def record(self, job: Job, status: str, ended_at: dt.datetime) -> None:
        """One finished attempt of `job` (after its state was written), ended at `ended_at`."""
        samples = self._samples[(job.queue, status)]
        samples.count += 1
        duration = _milliseconds(job.started_at, ended_at)
        if duration is not None:
            samples.duration_ms.append(duration)
        # Waiting time: from when the attempt was due (created, delayed until, or retry time) to its start.
        due = job.created_at if job.run_at is None else max(job.created_at, job.run_at)
        wait = _milliseconds(due, job.started_at)
        if wait is not None:
            samples.wait_ms.append(wait)
        if status != EmfStatus.RETRYING:
            samples.attempts.append(float(job.attempts))

    def flush(self) -> None:
        """Print what was collected as EMF (stdout, which Lambda sends to CloudWatch Logs) and forget it."""
        samples, self._samples = self._samples, defaultdict(_Samples)
        if is_metrics_disabled():  # POWERTOOLS_METRICS_DISABLED, as Powertools' own flush obeys
            return
        for (queue, status), group in samples.items():
            try:
                _print_emf(queue, status, group)
            except Exception:  # noqa: BLE001 - metrics are best effort; the jobs' outcomes are recorded
                logger.exception("EMF job metrics not published", extra={"queue": queue, "status": status})


def _print_emf(queue: str, status: str, group: _Samples) -> None:
    """One EMF line per 100 values of the group (EMF's limit per metric and line).

    Powertools serialises whole value lists: its `add_metric` takes one value a call and
    costs more with every value a metric already holds, which a batch of 100 jobs feels.
    """
    series = {
        "JobDuration": (MetricUnit.Milliseconds, group.duration_ms),
        "JobWaitTime": (MetricUnit.Milliseconds, group.wait_ms),
        "JobAttempts": (MetricUnit.Count, group.attempts),
    }
    longest = max((len(values) for _, values in series.values()), default=0)
    for start in range(0, max(longest, 1), EMF_MAX_VALUES):
        metric_set: dict[str, dict[str, Any]] = {}
        if start == 0:
            metric_set["JobsProcessed"] = _metric(MetricUnit.Count, [float(group.count)])
        for name, (unit, values) in series.items():
            if values[start : start + EMF_MAX_VALUES]:
                metric_set[name] = _metric(unit, values[start : start + EMF_MAX_VALUES])
        emf = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE)
        emf.add_dimension(name="Queue", value=queue)
        emf.add_dimension(name="Status", value=status)
        line = emf.serialize_metric_set(metrics=metric_set, dimensions=emf.dimension_set, metadata={})
        print(json.dumps(line, separators=(",", ":")))


def _metric(unit: MetricUnit, values: list[float]) -> dict[str, Any]:
    return {"Unit": unit.value, "StorageResolution": 60, "Value": values}
