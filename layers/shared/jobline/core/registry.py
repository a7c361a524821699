"""The job-type registry: which function runs a job of a given queue and name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from jobline.core.errors import InvalidPayload, JoblineError, UnknownJobType
from jobline.core.queues import get_queue

if TYPE_CHECKING:
    import datetime as dt

    from jobline.auth import Principal
    from jobline.core.context import JobContext
    from jobline.runtime import Runtime

JobFunction = Callable[[Any, "JobContext"], Any]
# A job type's check of who may add a job with this (validated) payload: raises NeedsRole or returns.
# The registry parses payloads without knowing the caller; the API calls this with the request's principal.
Authorizer = Callable[[BaseModel, "Principal"], None]
# A job type's use of a per-tenant quota: counts what the (validated) payload will spend, for the tenant,
# in the job store; raises QuotaExceeded when it does not fit. Called by every enqueue, whoever adds.
Meter = Callable[["Runtime", str, BaseModel, "dt.datetime"], None]


class NeedsRole(JoblineError):
    """The caller may not add this payload without `role`: the field at `loc` (in the payload) is
    content only such a caller may write. The API answers 403 naming the field."""

    def __init__(self, loc: tuple[str | int, ...], role: str, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.role = role

    def relocated(self, locate: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> NeedsRole:
        """The same refusal with its field where the request that carried the payload puts it."""
        return NeedsRole(locate(self.loc), self.role, str(self))

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in ("body", *self.loc))


class QuotaExceeded(JoblineError):
    """The tenant's quota for a period cannot take this job; it resets at `resets_at` (the API answers
    429 naming the field and the reset time)."""

    def __init__(self, loc: tuple[str | int, ...], message: str, *, resets_at: dt.datetime, retry_after: float) -> None:
        super().__init__(message)
        self.loc = loc
        self.resets_at = resets_at
        self.retry_after = retry_after

    def relocated(self, locate: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> QuotaExceeded:
        return QuotaExceeded(locate(self.loc), str(self), resets_at=self.resets_at, retry_after=self.retry_after)

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in ("body", *self.loc))


@dataclasses.dataclass(frozen=True)
class JobType:
    """A runnable job type: its queue, name, payload model and function."""

    queue: str
    name: str
    payload_model: type[BaseModel] | None
    run: JobFunction
    authorizer: Authorizer | None = None
    meter: Meter | None = None

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """The payload as stored: checked against the model, in JSON-ready form."""
        if self.payload_model is None:
            return data
        try:
            return self.payload_model.model_validate(data).model_dump(mode="json", by_alias=True)
        except ValidationError as exc:
            raise InvalidPayload(exc.errors(include_url=False, include_context=False)) from exc

    def parse(self, data: dict[str, Any]) -> Any:
        """The payload handed to the function: the model instance, or the dict."""
        return data if self.payload_model is None else self.payload_model.model_validate(data)

    def authorize(self, data: dict[str, Any], principal: Principal) -> None:
        """Raise NeedsRole if `principal` may not add a job with `data`. A payload that does not
        validate is left to enqueue, which answers it with its 422."""
        if self.authorizer is None or self.payload_model is None:
            return
        try:
            payload = self.payload_model.model_validate(data)
        except ValidationError:
            return
        self.authorizer(payload, principal)

    def count_use(
        self, runtime: Runtime, tenant_id: str, payload: dict[str, Any], *, existing_id: str | None = None
    ) -> None:
        """Count what a new job with the stored `payload` spends of the tenant's quotas; QuotaExceeded
        (nothing counted) when it does not fit. An add with an idempotency key whose job exists
        (`existing_id`) makes no new job, so it spends nothing."""
        if self.meter is None or self.payload_model is None:
            return
        if existing_id is not None and runtime.store.get(existing_id) is not None:
            return
        self.meter(runtime, tenant_id, self.payload_model.model_validate(payload), runtime.clock())


_JOB_TYPES: dict[tuple[str, str], JobType] = {}


def job_type(
    queue: str,
    name: str,
    *,
    payload: type[BaseModel] | None = None,
    authorize: Authorizer | None = None,
    meter: Meter | None = None,
) -> Callable[[JobFunction], JobFunction]:
    """Register the decorated function as the runner of jobs `name` on `queue`; `authorize` checks
    the caller of an add (the API's), `meter` counts each new job against a per-tenant quota."""
    get_queue(queue)  # an unknown queue is a programming error, caught at import

    def register(func: JobFunction) -> JobFunction:
        key = (queue, name)
        if key in _JOB_TYPES and _JOB_TYPES[key].run is not func:
            raise ValueError(f"job type {name!r} on {queue!r} is registered twice")
        _JOB_TYPES[key] = JobType(
            queue=queue, name=name, payload_model=payload, run=func, authorizer=authorize, meter=meter
        )
        return func

    return register


def get_job_type(queue: str, name: str) -> JobType:
    """The registered job type; raises UnknownJobType when there is none."""
    try:
        return _JOB_TYPES[(queue, name)]
    except KeyError:
        raise UnknownJobType(queue, name) from None


def unregister(queue: str, name: str) -> None:
    """Forget a job type (tests register throwaway ones)."""
    _JOB_TYPES.pop((queue, name), None)
