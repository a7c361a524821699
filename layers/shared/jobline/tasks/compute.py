"""Built-in tasks that compute: `delay`, `calculateSum` and `processData`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from jobline.context import JobContext
from jobline.errors import UnrecoverableError
from jobline.notifications.models import field_error
from jobline.queues import get_queue
from jobline.tasks.registry import TaskParams, task

# No delay can outlast the generic-task queue's job timeout; a shorter per-job timeout is checked at run time.
MAX_DELAY_MS = get_queue("generic-task").job_timeout_seconds * 1_000
MAX_ITEMS = 10_000
PROGRESS_EVERY = 1_000
MAX_TEXT_CHARS = 10_000
# The same numbers overflow on every attempt, so this fails the job at once.
OUT_OF_RANGE = "the result is beyond the range of a float"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> int | float:
    # One check with one message: a pydantic union would report each member's failure.
    if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError("a finite number is required")
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"text longer than {MAX_TEXT_CHARS} characters")
    if value is not None and not isinstance(value, str | bool) and not _is_number(value):
        raise ValueError("a string, number, boolean or null is required")
    return _number(value) if _is_number(value) else value


def _item(value: Any) -> Any:
    if isinstance(value, dict):
        if not all(isinstance(key, str) and len(key) <= 128 for key in value):
            raise ValueError("object keys must be strings of at most 128 characters")
        return {key: _scalar(inner) for key, inner in value.items()}
    return _scalar(value)


Number = Annotated[Any, AfterValidator(_number)]
Item = Annotated[Any, AfterValidator(_item)]


class DelayParams(TaskParams):
    ms: int = Field(ge=0, le=MAX_DELAY_MS, description="milliseconds to wait")


@task("delay", params=DelayParams)
def delay(params: DelayParams, ctx: JobContext) -> dict[str, Any]:
    """Wait `ms` milliseconds, refusing at once a wait that cannot end before the job's deadline."""
    seconds = params.ms / 1_000
    if seconds >= ctx.remaining_seconds():
        raise UnrecoverableError(f"a delay of {params.ms} ms does not fit the job's timeout")
    until = time.monotonic() + seconds
    while (left := until - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
        ctx.check_deadline()
    return {"delayedMs": params.ms}


def _total(values: list[Any]) -> int | float:
    return sum(values) if all(isinstance(v, int) for v in values) else math.fsum(values)


class CalculateSumParams(TaskParams):
    numbers: list[Number] = Field(min_length=1, max_length=100_000)


@task("calculateSum", params=CalculateSumParams)
def calculate_sum(params: CalculateSumParams, ctx: JobContext) -> dict[str, Any]:
    """The sum of `numbers` (exact for integers, `math.fsum` for floats) and their count."""
    try:
        return {"sum": _total(params.numbers), "count": len(params.numbers)}
    except OverflowError:
        raise UnrecoverableError(OUT_OF_RANGE) from None


# Transform name → (the values it takes, what it does). A request names one; it is a key, never code.
TRANSFORMS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], Any]]] = {
    "none": (lambda v: True, lambda v: v),
    "uppercase": (lambda v: isinstance(v, str), str.upper),
    "lowercase": (lambda v: isinstance(v, str), str.lower),
    "trim": (lambda v: isinstance(v, str), str.strip),
    "double": (_is_number, lambda v: v * 2),
    "square": (_is_number, lambda v: v * v),
    "negate": (_is_number, lambda v: -v),
    "abs": (_is_number, abs),
    "round": (_is_number, round),
}
NUMERIC_AGGREGATES = frozenset({"sum", "min", "max", "avg"})


class ProcessDataParams(TaskParams):
    """Transform each item (or each item's `field`), then aggregate, optionally per `groupBy` value."""

    items: list[Item] = Field(min_length=1, max_length=MAX_ITEMS)
    field: str | None = Field(default=None, max_length=128)
    transform: Literal["none", "uppercase", "lowercase", "trim", "double", "square", "negate", "abs", "round"] = "none"
    aggregate: list[Literal["count", "sum", "min", "max", "avg", "distinct"]] = Field(default=["count"], max_length=6)
    group_by: str | None = Field(default=None, max_length=128)
    include_items: bool = True

    def value(self, item: Any) -> Any:
        return item.get(self.field) if self.field is not None and isinstance(item, dict) else item

    @model_validator(mode="after")
    def _values_fit(self) -> ProcessDataParams:
        if (self.field is not None or self.group_by is not None) and not all(isinstance(i, dict) for i in self.items):
            raise field_error("ProcessDataParams", "items", "`field` and `groupBy` need objects as items", None)
        accepts = TRANSFORMS[self.transform][0]
        numeric = NUMERIC_AGGREGATES.intersection(self.aggregate)
        for index, item in enumerate(self.items):
            value = self.value(item)
            if not accepts(value):
                raise field_error(
                    "ProcessDataParams", "items", f"item {index}: {value!r} does not suit {self.transform!r}", item
                )
            if numeric and not _is_number(value):
                raise field_error("ProcessDataParams", "items", f"item {index}: {sorted(numeric)} need numbers", item)
        return self


def _aggregates(values: list[Any], wanted: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in wanted:
        if name == "count":
            out[name] = len(values)
        elif name == "distinct":
            out[name] = len({repr(v) for v in values})
        elif name == "sum":
            out[name] = _total(values)
        elif name == "min":
            out[name] = min(values)
        elif name == "max":
            out[name] = max(values)
        elif name == "avg":
            out[name] = _total(values) / len(values)
    return out


@task("processData", params=ProcessDataParams)
def process_data(params: ProcessDataParams, ctx: JobContext) -> dict[str, Any]:
    """The transformed items (when asked) with their aggregates, overall and per group."""
    change = TRANSFORMS[params.transform][1]
    items: list[Any] = []
    values: list[Any] = []
    for index, item in enumerate(params.items, start=1):
        value = change(params.value(item))
        values.append(value)
        items.append({**item, params.field: value} if params.field is not None else value)
        if index % PROGRESS_EVERY == 0:
            ctx.check_deadline()
            ctx.progress(100 * index / len(params.items))
    try:
        result: dict[str, Any] = {"count": len(items), "aggregates": _aggregates(values, params.aggregate)}
        if params.group_by is not None:
            groups: dict[str, list[Any]] = {}
            for item, value in zip(params.items, values, strict=True):
                groups.setdefault(str(item.get(params.group_by)), []).append(value)
            result["groups"] = {key: _aggregates(group, params.aggregate) for key, group in groups.items()}
    except OverflowError:
        raise UnrecoverableError(OUT_OF_RANGE) from None
    if params.include_items:
        result["items"] = items
    return result
