"""The job-type registry: which function runs a job of a given queue and name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from jobline.core.errors import InvalidPayload, UnknownJobType
from jobline.core.queues import get_queue

if TYPE_CHECKING:
    from jobline.core.context import JobContext

JobFunction = Callable[[Any, "JobContext"], Any]


@dataclasses.dataclass(frozen=True)
class JobType:
    """A runnable job type: its queue, name, payload model and function."""

    queue: str
    name: str
    payload_model: type[BaseModel] | None
    run: JobFunction

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


_JOB_TYPES: dict[tuple[str, str], JobType] = {}


def job_type(queue: str, name: str, *, payload: type[BaseModel] | None = None) -> Callable[[JobFunction], JobFunction]:
    """Register the decorated function as the runner of jobs `name` on `queue`."""
    get_queue(queue)  # an unknown queue is a programming error, caught at import

    def register(func: JobFunction) -> JobFunction:
        key = (queue, name)
        if key in _JOB_TYPES and _JOB_TYPES[key].run is not func:
            raise ValueError(f"job type {name!r} on {queue!r} is registered twice")
        _JOB_TYPES[key] = JobType(queue=queue, name=name, payload_model=payload, run=func)
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
