"""The cleanup function's entry point: the per-minute tick and the nightly sweep (EventBridge schedules)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from jobline.core import catalog
from jobline.domains.waitlist import cascade as waitlist_cascade
from jobline.domains.waitlist import records as waitlist_records
from jobline.runtime import get_runtime
from jobline.telemetry.observability import logger, tracer
from jobline.tick import periodic

# The tick enqueues recurring runs of any job type, so it knows them all.
catalog.load_all_job_types()


class ScheduleInput(BaseModel):
    """A schedule's constant input; a bare EventBridge scheduled event means the tick."""

    model_config = ConfigDict(extra="ignore")

    task: Literal["tick", "nightly"] = "tick"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def schedule_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The per-minute tick (delayed jobs, dead letters) or the nightly retention sweep."""
    task = ScheduleInput.model_validate(event).task
    runtime = get_runtime()
    if task == "nightly":
        removed = periodic.run_nightly(runtime)
        waitlist_removed = waitlist_records.cleanup_old_records(runtime)
        logger.info("nightly sweep done", extra={"removed": removed, "waitlist_removed": waitlist_removed})
        return {"task": task, "removed": removed, "waitlistRemoved": waitlist_removed}
    report: dict[str, Any] = dataclasses.asdict(periodic.run_tick(runtime))
    try:
        report["expired_holds"] = waitlist_cascade.release_expired_holds(runtime)
    except Exception:  # noqa: BLE001 - a database outage must not stop the job tick
        logger.exception("releasing expired waitlist holds failed")
    logger.info("tick done", extra=report)
    return {"task": task, **report}
