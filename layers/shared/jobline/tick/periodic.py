"""The per-minute tick and the nightly sweep that `functions/cleanup` runs, composed of their steps:
`recurring` (start due runs), `delayed` (release due delayed jobs), `dead_letters` (reconcile the
DLQs), `leases` (re-send the jobs of workers that died) and, each night, `retention`."""

from __future__ import annotations

import dataclasses

from jobline.core.queues import QUEUES
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger
from jobline.tick import dead_letters, delayed, leases, recurring, retention


@dataclasses.dataclass
class TickReport:
    released: int = 0
    recurring_runs: int = 0
    dead_letters_recorded: int = 0
    stale_dead_letters_dropped: int = 0
    expired_leases_resent: int = 0
    failed_queues: list[str] = dataclasses.field(default_factory=list)


def run_tick(runtime: Runtime) -> TickReport:
    """The per-minute work: enqueue due recurring runs, release due delayed jobs, reconcile every DLQ,
    re-send the jobs whose lease expired."""
    report = TickReport(recurring_runs=recurring.enqueue_due_runs(runtime))
    tally = dead_letters.DeadLetterTally()
    for queue in QUEUES:
        # One queue's trouble (SQS throttling, a bad record) must not stop the others' release and reconciling.
        try:
            report.released += delayed.release_due_delayed(runtime, queue)
            dead_letters.reconcile_dead_letters(runtime, queue, tally)
            # After the DLQ: a job whose message was redriven there is failed, not sent again.
            report.expired_leases_resent += leases.resend_expired_leases(runtime, queue)
        except Exception:  # noqa: BLE001 - logged; the next tick tries this queue again
            logger.exception("tick failed for a queue", extra={"queue": queue})
            report.failed_queues.append(queue)
    report.dead_letters_recorded = tally.recorded
    report.stale_dead_letters_dropped = tally.stale_dropped
    return report


def run_nightly(runtime: Runtime) -> dict[str, int]:
    """The nightly sweep: finished jobs past their queue's retention, per queue."""
    return retention.apply_retention_to_every_queue(runtime)
