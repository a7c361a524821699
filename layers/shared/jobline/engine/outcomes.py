"""Recording a finished job: the one place its final state is written.

A job that completed or failed is written over the record its worker (or the tick's dead-letter
reconciler) read, and counted in its queue's counters (outcome and last attempt's length) in the
same store write, so neither outlives the other. Telemetry only decides what is counted
(`telemetry.metrics.increments`); this module writes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobline.core.job import Job
from jobline.telemetry.metrics import counter_name, increments

if TYPE_CHECKING:
    from jobline.runtime import Runtime


def record_finished(runtime: Runtime, finished: Job, previous: Job) -> Job:
    """Write `finished` (completed or failed) over the stored `previous` and count it, in one
    store write; raises StaleJob if the job changed since `previous` was read."""
    return runtime.store.replace_counted(
        finished,
        expected_version=previous.version,
        previous=previous,
        counter=counter_name(finished.queue),
        increments=increments(finished),
    )
