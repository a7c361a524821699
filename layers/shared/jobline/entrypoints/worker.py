"""The worker functions' shared Lambda entry point; each worker's `app.py` re-exports it.

It loads no job types itself: each worker imports only the job modules it runs, so a cold
start pays for those alone (the schedule entry point, in `jobline.entrypoints.cleanup`, loads them all).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from jobline.engine.worker import Worker
from jobline.runtime import get_runtime
from jobline.telemetry.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def worker_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """An SQS batch of job messages: run each job, report the records to deliver again."""
    return Worker(get_runtime()).handle_batch(event, context)
