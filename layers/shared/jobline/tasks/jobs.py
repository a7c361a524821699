"""The `run-task` job type on `generic-task`: runs one registered task by name with its parameters.

Importing this module registers the job type and the built-in tasks and service methods.
The payload `{"task": name, "params": {...}}` is checked at enqueue: an unregistered name
or parameters that do not fit the task's model are a pydantic error (the API's 422).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from jobline.context import JobContext
from jobline.handlers import job_type
from jobline.tasks import compute, queue_tasks, services
from jobline.tasks.registry import SERVICE_METHODS, TASKS, UnknownTask

QUEUE = "generic-task"
RUN_TASK = "run-task"
# Importing their modules registered the built-ins; naming them here keeps that import explicit.
BUILTIN_TASKS = (
    compute.delay,
    compute.calculate_sum,
    compute.process_data,
    queue_tasks.send_notification,
    queue_tasks.cleanup_old_data,
    queue_tasks.generate_report,
    services.custom_async_task,
)


class RunTask(BaseModel):
    """Which registered task to run, and its parameters."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=128)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("task")
    @classmethod
    def _registered(cls, name: str) -> str:
        return TASKS.known(name)

    @field_validator("params")
    @classmethod
    def _fit_task(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return TASKS.fit(info.data.get("task"), params)


@job_type(QUEUE, RUN_TASK, payload=RunTask)
def run_task(payload: RunTask, ctx: JobContext) -> Any:
    """Run the task; a failure is the attempt's failure, retried with the queue's backoff."""
    ctx.log(f"running task {payload.task}")
    return TASKS.get(payload.task).call(payload.params, ctx)


def requires_admin(name: str, params: dict[str, Any]) -> bool:
    """Whether starting task `name` with `params` needs the admin role (False for unknown names: they are 422s)."""
    try:
        if TASKS.get(name).admin_only:
            return True
        method = params.get("method") if name == services.CUSTOM_ASYNC_TASK else None
        return isinstance(method, str) and SERVICE_METHODS.get(method).admin_only
    except UnknownTask:
        return False


def register() -> None:
    """Register the job type again (idempotent), for a registry that was reset after import."""
    job_type(QUEUE, RUN_TASK, payload=RunTask)(run_task)
