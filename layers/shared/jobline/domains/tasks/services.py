"""Service methods run by name through the `customAsyncTask` task, and the built-in ones."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, ValidationInfo, field_validator

from jobline.core.context import JobContext
from jobline.domains.tasks.registry import SERVICE_METHODS, TaskParams, service_method, task

CUSTOM_ASYNC_TASK = "customAsyncTask"


class CustomAsyncTaskParams(TaskParams):
    """`method` (seed 001's `taskId`) names a registered `service.method`; `args` (its `data`) are
    checked against that method's model, by name or in its positional order."""

    method: str = Field(
        min_length=1, max_length=129, examples=["diagnostics.echo"], validation_alias=AliasChoices("method", "taskId")
    )
    args: dict[str, Any] | list[Any] = Field(default_factory=dict, validation_alias=AliasChoices("args", "data"))

    @field_validator("method")
    @classmethod
    def _registered(cls, name: str) -> str:
        return SERVICE_METHODS.known(name)

    @field_validator("args")
    @classmethod
    def _fit_method(cls, args: dict[str, Any] | list[Any], info: ValidationInfo) -> dict[str, Any] | list[Any]:
        return SERVICE_METHODS.fit(info.data.get("method"), args)


@task(CUSTOM_ASYNC_TASK, params=CustomAsyncTaskParams, positional=("taskId", "data"))
def custom_async_task(params: CustomAsyncTaskParams, ctx: JobContext) -> dict[str, Any]:
    """Run the registered service method `method` with `args`; its return value is the result."""
    method = SERVICE_METHODS.get(params.method)
    args = params.args if isinstance(params.args, dict) else method.validate(params.args)
    return {"method": params.method, "result": method.call(args, ctx)}


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
