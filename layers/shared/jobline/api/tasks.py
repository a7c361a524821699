"""Background tasks by name: `POST /tasks` runs a registered task on the generic-task queue."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from jobline import auth, enqueue
from jobline.api import deps
from jobline.api.answers import ENQUEUE_RESPONSES, enqueued
from jobline.api.envelope import Envelope
from jobline.api.models import JobCreated
from jobline.enqueue import JobOptions
from jobline.tasks import jobs as task_jobs

router = APIGatewayHttpRouter()

TASK_QUEUE = task_jobs.QUEUE
TASK_JOB = task_jobs.RUN_TASK


class TaskRequest(BaseModel):
    """Run a registered task by name with its parameters."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    params: dict[str, Any] = Field(default_factory=dict)
    options: JobOptions | None = None


def check_task_role(name: object, params: object, caller: auth.Principal) -> None:
    """PermissionDenied unless the caller may start task `name` (an unknown name is the payload check's 422)."""
    # Tasks like cleanupOldData act like the admin routes, so they need the same role,
    # whichever route (/tasks or /jobs/generic-task) starts them.
    if isinstance(name, str) and task_jobs.requires_admin(name, params if isinstance(params, dict) else {}):
        auth.require_admin(caller)


@router.post("/tasks", summary="Run a registered task in the background", tags=["jobs"], responses=ENQUEUE_RESPONSES)
def run_task(
    body: Annotated[TaskRequest, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[Envelope[JobCreated]]:
    """Enqueue `run-task` on generic-task with `{"task": name, "params": params}`."""
    check_task_role(body.name, body.params, caller)
    result = enqueue.enqueue(
        runtime,
        queue=TASK_QUEUE,
        name=TASK_JOB,
        data={"task": body.name, "params": body.params},
        tenant_id=caller.tenant_id,
        user_id=caller.user_id,
        options=body.options,
    )
    return enqueued(result)
