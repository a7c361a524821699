"""The `run-task` job type on `generic-task`: runs one registered task by name with its parameters.

Importing this module registers the job type and the built-in tasks and service methods.
The payload `{"task": name, "params": {...} or [...]}` is checked at enqueue: an unregistered
name or parameters that do not fit the task's model are a pydantic error (the API's 422).
Positional parameters (seed 001's `executeTask(title, 'cleanupOldData', ['leads', 30])`) are
stored by name, so a retry runs exactly what was checked.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)

from jobline.core.context import JobContext
from jobline.core.registry import job_type
from jobline.domains.tasks import cleanup, compute, data_services, queue_tasks, reports, services
from jobline.domains.tasks.queues import GENERIC_TASK
from jobline.domains.tasks.registry import SERVICE_METHODS, TASKS, UnknownTask

if TYPE_CHECKING:
    from jobline.auth import Principal

RUN_TASK = "run-task"
SUB_ACCOUNT = "subAccountId"
# Importing their modules registered the built-ins; naming them here keeps that import explicit.
BUILTIN_TASKS = (
    compute.delay,
    compute.calculate_sum,
    compute.process_data,
    queue_tasks.send_notification,
    cleanup.cleanup_old_data,
    reports.generate_report,
    services.custom_async_task,
    data_services.export_leads,
    data_services.process_dataset,
)
MAX_CONTEXT_CHARS = 4_096


def _small_json(context: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(context, default=str)) > MAX_CONTEXT_CHARS:
        raise ValueError(f"context longer than {MAX_CONTEXT_CHARS} characters as JSON")
    return context


def _list_or_object(value: Any) -> Any:
    # One clear error, where a union of the two would report one per member.
    if not isinstance(value, list | dict):
        raise ValueError("an array (in the function's order) or an object (by name) is required")
    return value


# A task's parameters: positional (`["leads", 30]`) or by name (`{"tableName": "leads", "daysOld": 30}`).
Params = Annotated[
    Any,
    AfterValidator(_list_or_object),
    WithJsonSchema({"anyOf": [{"type": "array", "items": {}}, {"type": "object"}]}),
]

# The seed's `context` ({"source": "user-upload"}): the caller's label for the run, kept with the job.
TaskContext = Annotated[dict[str, Any], AfterValidator(_small_json)]


class RunTask(BaseModel):
    """Which registered task to run and its parameters (by name, or in the task's positional order);
    `title`, `context`, `userId` and `subAccountId` are the caller's labels, kept with the job."""

    model_config = ConfigDict(extra="forbid")

    task: Annotated[str, TASKS.registered_name()] = Field(min_length=1, max_length=128)
    params: Annotated[Params, TASKS.params_of("task")] = Field(default_factory=dict)
    title: str | None = Field(default=None, min_length=1, max_length=200, examples=["Data Processing"])
    context: TaskContext | None = None
    user_id: str | None = Field(default=None, alias="userId", min_length=1, max_length=128)
    # Checked by the API against the caller's tenant; the job's tenant is always the token's.
    sub_account_id: str | None = Field(default=None, alias="subAccountId", min_length=1, max_length=128)

    @model_serializer(mode="wrap")
    def _labels_only_when_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A payload without labels is stored as before: {"task", "params"}.
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None or key in ("task", "params")}


def authorize(payload: BaseModel, principal: Principal) -> None:
    """A task that adds an e-mail or SMS job for its caller (sendNotification) passes the caller's
    check of that job now, at the add: the worker that runs it later no longer knows the caller."""
    assert isinstance(payload, RunTask)
    if payload.task == queue_tasks.SEND_NOTIFICATION and isinstance(payload.params, dict):
        queue_tasks.authorize(payload.params, principal)


@job_type(GENERIC_TASK, RUN_TASK, payload=RunTask, authorize=authorize)
def run_task(payload: RunTask, ctx: JobContext) -> Any:
    """Run the task; a failure is the attempt's failure, retried with the queue's backoff."""
    title = f" ({payload.title})" if payload.title else ""
    context = f" context {json.dumps(payload.context, default=str)}" if payload.context else ""
    ctx.log(f"running task {payload.task}{title}{context}")
    return TASKS.run(payload.task, payload.params, ctx)


def _service_method(name: str, params: Any) -> str | None:
    """The service method a `customAsyncTask` call names (by `method`, `taskId` or first position)."""
    if name != services.CUSTOM_ASYNC_TASK:
        return None
    if isinstance(params, list):
        method = params[0] if params else None
    elif isinstance(params, dict):
        method = params.get("method", params.get("taskId"))
    else:
        method = None
    return method if isinstance(method, str) else None


def requires_admin(name: str, params: Any) -> bool:
    """Whether starting task `name` with `params` needs the admin role (False for unknown names: they are 422s)."""
    try:
        if TASKS.get(name).admin_only:
            return True
        method = _service_method(name, params)
        return method is not None and SERVICE_METHODS.get(method).admin_only
    except UnknownTask:
        return False


def foreign_sub_account(name: str, params: Any, tenant_id: str) -> str | None:
    """Where `params` name a `subAccountId` other than `tenant_id` (`params.0`, `params.data.subAccountId`),
    or None. Tasks run for the caller's tenant only: a body naming another is refused, never trusted."""
    try:
        if (method := _service_method(name, params)) is not None:
            args = params[1] if isinstance(params, list) and len(params) > 1 else None
            if isinstance(params, dict):
                key = "args" if "args" in params else "data"
                args, prefix = params.get(key), f"params.{key}"
            else:
                prefix = "params.1"
            return _foreign_in(SERVICE_METHODS.get(method).positional, args, tenant_id, prefix)
        return _foreign_in(TASKS.get(name).positional, params, tenant_id, "params")
    except UnknownTask:
        return None


def _foreign_in(positional: tuple[str, ...], args: Any, tenant_id: str, prefix: str) -> str | None:
    if isinstance(args, dict):
        given = args.get(SUB_ACCOUNT)
        return f"{prefix}.{SUB_ACCOUNT}" if given is not None and given != tenant_id else None
    if isinstance(args, list) and SUB_ACCOUNT in positional:
        index = positional.index(SUB_ACCOUNT)
        if index < len(args) and args[index] is not None and args[index] != tenant_id:
            return f"{prefix}.{index}"
    return None


def register() -> None:
    """Register the job type again (idempotent), for a registry that was reset after import."""
    job_type(GENERIC_TASK, RUN_TASK, payload=RunTask, authorize=authorize)(run_task)
