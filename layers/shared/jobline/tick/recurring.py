"""The tick's start of recurring runs: every schedule whose next run falls due before the next
tick gets that run's job, and moves on to the run after.

Exactly once per run, even when two ticks overlap: the run's job id is its run key
(`engine.recurring.run_key`), so a second enqueue of the same run returns the first job; the
schedule then moves on by a conditional write, and the tick that loses that write leaves it to
the winner. A run whose message cannot be sent leaves no job (`dispatch.create`) and its schedule
where it was: EnqueueFailed stops this tick, and the next one starts the run again.
"""

from __future__ import annotations

from jobline.core.clock import TICK_HORIZON
from jobline.core.errors import ScheduleConflict
from jobline.core.registry import QuotaExceeded
from jobline.engine import recurring
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger


def enqueue_due_runs(runtime: Runtime) -> int:
    """Enqueue every run due before the next tick; returns how many schedules moved on."""
    now = runtime.clock()
    advanced = 0
    for schedule in runtime.store.list_schedules():
        run_at = schedule.next_run_at
        if run_at is None or run_at > now + TICK_HORIZON:
            continue
        if run_at < now - TICK_HORIZON:
            # Ticks were missed: run once for the latest missed time, not for every one.
            run_at = schedule.latest_at_or_before(now)
        try:
            result = recurring.enqueue_run(runtime, schedule, run_at)
        except QuotaExceeded as exc:
            # The tenant's daily quota is spent: this run is skipped (the schedule moves on), and no
            # other schedule, of this tenant or another, is held up by it.
            logger.warning("recurring run skipped", extra={"schedule_id": schedule.id, "reason": str(exc)})
            result = None
        moved = schedule.model_copy(update={"runs": schedule.runs + 1, "last_run_at": run_at})
        moved = moved.model_copy(update={"next_run_at": moved.next_after(run_at)})
        try:
            runtime.store.save_schedule(moved, expected_version=schedule.version)
        except ScheduleConflict:
            continue  # an overlapping tick moved it on; the job id made the run happen once
        advanced += 1
        logger.info(
            "recurring run enqueued",
            extra={
                "schedule_id": schedule.id,
                "job_id": result.job.id if result else None,
                "queue": schedule.queue,
                "new": result.created if result else False,
            },
        )
    return advanced
