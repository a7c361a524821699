"""Service methods run by name through the `customAsyncTask` task, and the built-in ones."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field

from jobline.core.context import JobContext
from jobline.domains.tasks.registry import SERVICE_METHODS, TaskParams, service_method, task

CUSTOM_ASYNC_TASK = "customAsyncTask"


class CustomAsyncTaskParams(TaskParams):
    """`method` (seed 001's `taskId`) names a registered `service.method`; `args` (its `data`) are
    checked against that method's model, by name or in its positional order."""

    method: Annotated[str, SERVICE_METHODS.registered_name()] = Field(
        min_length=1, max_length=129, examples=["diagnostics.echo"], validation_alias=AliasChoices("method", "taskId")
    )
    args: Annotated[dict[str, Any] | list[Any], SERVICE_METHODS.params_of("method")] = Field(
        default_factory=dict, validation_alias=AliasChoices("args", "data")
    )


@task(CUSTOM_ASYNC_TASK, params=CustomAsyncTaskParams, positional=("taskId", "data"))
def custom_async_task(params: CustomAsyncTaskParams, ctx: JobContext) -> dict[str, Any]:
    """Run the registered service method `method` with `args`; its return value is the result."""
    return {"method": params.method, "result": SERVICE_METHODS.run(params.method, params.args, ctx)}


class EchoArgs(TaskParams):
    message: str = Field(max_length=10_000)


@service_method("diagnostics.echo", params=EchoArgs, positional=("message",))
def echo(args: EchoArgs, ctx: JobContext) -> dict[str, Any]:
    """Return the message: checks that service methods run end to end."""
    return {"message": args.message}


@service_method("diagnostics.ping")
def ping(args: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Who ran the call: the tenant, the job and the attempt."""
    return {"pong": True, "tenantId": ctx.tenant_id, "jobId": ctx.job_id, "attempt": ctx.attempt}
