"""Background tasks by name on the generic-task queue, in three shapes of one job (`run-task`):

- `POST /tasks` `{name, params, options}`: a registered task with its parameters;
- `POST /tasks/execute`: seed 001's `executeTask(title, functionName, params[], {subAccountId,
  userId, context})`, positional parameters in the task's order;
- `POST /tasks/service-method`: seed 001's `executeServiceMethod(title, serviceName, methodName,
  params[], options)`, a registered service method through `customAsyncTask`.

Names are keys into the task registries, never code. The labels (`title`, `userId`, `context`,
`subAccountId`) may come at the top level or inside `options`, as the seed's calls pass them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from jobline import auth
from jobline.api import deps
from jobline.api.answers import ENQUEUE_RESPONSES, enqueue_for
from jobline.api.errors import ForeignSubAccount, InvalidRequest
from jobline.api.queues import public_queue
from jobline.api.schemas import JobCreatedAnswer
from jobline.core.errors import InvalidPayload
from jobline.domains.tasks import jobs as task_jobs
from jobline.domains.tasks import services as task_services
from jobline.domains.tasks.queues import GENERIC_TASK
from jobline.domains.tasks.registry import SERVICE_METHODS
from jobline.engine.enqueue import JobOptions
from jobline.runtime import Runtime

router = APIGatewayHttpRouter()

TASK_QUEUE = GENERIC_TASK
TASK_JOB = task_jobs.RUN_TASK
NAME_PART = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
Params = task_jobs.Params


class TaskRequest(BaseModel):
    """Run a registered task by name with its parameters."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    params: Params = Field(default_factory=dict)
    options: JobOptions | None = None


class TaskOptions(JobOptions):
    """The job options, plus the labels seed 001 passes in the same object (`{subAccountId, userId, context}`)."""

    sub_account_id: str | None = Field(default=None, alias="subAccountId", min_length=1, max_length=128)
    user_id: str | None = Field(default=None, alias="userId", min_length=1, max_length=128)
    context: task_jobs.TaskContext | None = None

    def job_options(self) -> JobOptions:
        """The options without the labels."""
        labels = {"sub_account_id", "user_id", "context"}
        return JobOptions.model_validate({name: getattr(self, name) for name in self.model_fields_set - labels})


class LabelledTask(BaseModel):
    """What executeTask and executeServiceMethod share: a title, the labels and the options."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    title: str | None = Field(default=None, min_length=1, max_length=200, examples=["Data Processing"])
    params: Params = Field(default_factory=list, description="in the order the function takes them, or by name")
    sub_account_id: str | None = Field(
        default=None, alias="subAccountId", min_length=1, max_length=128, description="must be your own tenant"
    )
    user_id: str | None = Field(default=None, alias="userId", min_length=1, max_length=128, description="a label")
    context: task_jobs.TaskContext | None = Field(default=None, examples=[{"source": "user-upload"}])
    options: TaskOptions | None = None

    def labels(self, caller: auth.Principal) -> dict[str, Any]:
        """`title`, `subAccountId`, `userId` and `context` for the job's data, from wherever they were given."""
        options = self.options or TaskOptions()
        for field in ("sub_account_id", "user_id", "context"):
            if getattr(self, field) is not None and getattr(options, field) is not None:
                wire = type(self).model_fields[field].alias or field
                raise InvalidRequest(f"body.options.{wire}", f"{wire} is given twice: at the top and in options")
        sub_account = self.sub_account_id or options.sub_account_id
        if sub_account is not None and sub_account != caller.tenant_id:
            where = "subAccountId" if self.sub_account_id else "options.subAccountId"
            raise ForeignSubAccount(f"{where} must be your own tenant ({caller.tenant_id})", field=f"body.{where}")
        labels = {
            "title": self.title,
            "subAccountId": sub_account,
            "userId": self.user_id or options.user_id,
            "context": self.context if self.context is not None else options.context,
        }
        return {key: value for key, value in labels.items() if value is not None}

    def job_options(self) -> JobOptions | None:
        return self.options.job_options() if self.options is not None else None


class ExecuteTaskRequest(LabelledTask):
    """Seed 001's `executeTask(title, functionName, params, {subAccountId, userId, context})`."""

    function_name: str = Field(alias="functionName", min_length=1, max_length=128, examples=["processData"])


class ServiceMethodRequest(LabelledTask):
    """Seed 001's `executeServiceMethod(title, serviceName, methodName, params, options)`."""

    service_name: str = Field(alias="serviceName", pattern=NAME_PART, examples=["LeadsService"])
    method_name: str = Field(alias="methodName", pattern=NAME_PART, examples=["exportLeads"])

    @property
    def method(self) -> str:
        return f"{self.service_name}.{self.method_name}"


def check_task_role(
    name: object, params: object, caller: auth.Principal, *, field: Callable[[str], str] = lambda where: where
) -> None:
    """PermissionDenied unless the caller may start task `name` with `params`: the admin role for
    admin-only tasks, and only their own tenant as a `subAccountId` (unknown names are the payload's 422)."""
    # Tasks like cleanupOldData act like the admin routes, so they need the same role,
    # whichever route (/tasks, /tasks/execute, /jobs/generic-task) starts them.
    if isinstance(name, str) and task_jobs.requires_admin(name, params):
        auth.require_admin(caller)
    if isinstance(name, str) and (where := task_jobs.foreign_sub_account(name, params, caller.tenant_id)):
        place = f"body.{field(where)}"
        raise ForeignSubAccount(f"{place} (a subAccountId) must be your own tenant ({caller.tenant_id})", field=place)


def _add_task(
    runtime: Runtime,
    caller: auth.Principal,
    data: dict[str, Any],
    options: JobOptions | None,
    *,
    located: Callable[[tuple[Any, ...]], tuple[Any, ...]] = lambda loc: loc,
) -> Response[JobCreatedAnswer]:
    """Enqueue run-task with `data`; a refused payload's errors are `located` as the request names them."""
    # The task queue is fixed here, but it passes the check every adding route shares: were it
    # ever made internal, these three routes would refuse rather than add to it.
    public_queue(TASK_QUEUE)
    try:
        return enqueue_for(runtime, caller, queue=TASK_QUEUE, name=TASK_JOB, data=data, options=options)
    except InvalidPayload as exc:
        raise exc.relocated(located) from exc


@router.post("/tasks", summary="Run a registered task in the background", tags=["jobs"], responses=ENQUEUE_RESPONSES)
def run_task(
    body: Annotated[TaskRequest, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[JobCreatedAnswer]:
    """Enqueue `run-task` on generic-task with `{"task": name, "params": params}`."""
    check_task_role(body.name, body.params, caller)
    return _add_task(runtime, caller, {"task": body.name, "params": body.params}, body.options)


def _as_function_name(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    return ("functionName", *loc[1:]) if loc[:1] == ("task",) else loc


@router.post(
    "/tasks/execute",
    summary="Run a built-in function in the background (seed 001's executeTask)",
    tags=["jobs"],
    responses=ENQUEUE_RESPONSES,
)
def execute_task(
    body: Annotated[ExecuteTaskRequest, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[JobCreatedAnswer]:
    """`params` fill the function's parameters in order (`["leads", 30]` for cleanupOldData); the
    function's `context` is the request's. Status at `checkStatusAt`."""
    check_task_role(body.function_name, body.params, caller)
    data = {"task": body.function_name, "params": body.params, **body.labels(caller)}
    return _add_task(runtime, caller, data, body.job_options(), located=_as_function_name)


def _unknown_method_field(body: ServiceMethodRequest) -> str:
    # Name the part that is wrong: no such service, or no such method of a known one.
    known_services = {name.split(".", 1)[0] for name in SERVICE_METHODS.names()}
    return "methodName" if body.service_name in known_services else "serviceName"


@router.post(
    "/tasks/service-method",
    summary="Run a registered service method in the background (seed 001's executeServiceMethod)",
    tags=["jobs"],
    responses=ENQUEUE_RESPONSES,
)
def execute_service_method(
    body: Annotated[ServiceMethodRequest, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[JobCreatedAnswer]:
    """Run `serviceName.methodName` with `params` (in the method's order) through `customAsyncTask`."""
    params = {"method": body.method, "args": body.params}
    check_task_role(task_services.CUSTOM_ASYNC_TASK, params, caller, field=lambda where: where.replace(".args", "", 1))
    unknown_field = _unknown_method_field(body)

    def located(loc: tuple[Any, ...]) -> tuple[Any, ...]:
        if loc[:2] == ("params", "method"):
            return (unknown_field,)
        if loc[:2] == ("params", "args"):
            return ("params", *loc[2:])
        return loc

    data = {"task": task_services.CUSTOM_ASYNC_TASK, "params": params, **body.labels(caller)}
    return _add_task(runtime, caller, data, body.job_options(), located=located)
