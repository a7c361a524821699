"""Cleanup: the per-minute tick (delayed jobs, dead letters) and the nightly retention sweep."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from jobline import ticks
from jobline.observability import logger, tracer
from jobline.runtime import get_runtime


class ScheduleInput(BaseModel):
    """The schedule's constant input; a bare EventBridge scheduled event means the tick."""

    model_config = ConfigDict(extra="ignore")

    task: Literal["tick", "nightly"] = "tick"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ScheduleInput.model_validate(event).task
    runtime = get_runtime()
    if task == "nightly":
        removed = ticks.run_nightly(runtime)
        logger.info("nightly sweep done", extra={"removed": removed})
        return {"task": task, "removed": removed}
    report = ticks.run_tick(runtime)
    logger.info("tick done", extra=dataclasses.asdict(report))
    return {"task": task, **dataclasses.asdict(report)}
