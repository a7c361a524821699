"""Built-in tasks that compute: `delay`, `calculateSum` and `processData`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, BeforeValidator, Field, ValidationInfo, field_validator

from jobline.core.context import JobContext
from jobline.core.errors import UnrecoverableError
from jobline.core.queues import get_queue
from jobline.domains.tasks.queues import GENERIC_TASK
from jobline.domains.tasks.registry import TaskParams, task

# No delay can outlast the generic-task queue's job timeout; a shorter per-job timeout is checked at run time.
MAX_DELAY_MS = get_queue(GENERIC_TASK).job_timeout_seconds * 1_000
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
# A row of a dataset: an object whose values are scalars (or objects of scalars).
Row = Annotated[dict[str, Any], AfterValidator(_item)]


class DelayParams(TaskParams):
    ms: int = Field(ge=0, le=MAX_DELAY_MS, description="milliseconds to wait")


@task("delay", params=DelayParams, positional=("ms",))
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


@task("calculateSum", params=CalculateSumParams, positional=("numbers",))
def calculate_sum(params: CalculateSumParams, ctx: JobContext) -> dict[str, Any]:
    """The sum of `numbers` (exact for integers, `math.fsum` for floats) and their count."""
    try:
        return {"sum": _total(params.numbers), "count": len(params.numbers)}
    except OverflowError:
        raise UnrecoverableError(OUT_OF_RANGE) from None


def _normalized(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return {key: _normalized(inner) for key, inner in value.items()}
    return value


# Operation name → (the values it takes, what it does). A request names one; it is a key, never code.
# `transform` is seed 001's generic clean-up (`processData(data, 'transform')`): text trimmed and its
# runs of whitespace collapsed, in plain strings and in objects' values; `aggregate` keeps the values
# and answers their aggregates only.
TRANSFORMS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], Any]]] = {
    "none": (lambda v: True, lambda v: v),
    "transform": (lambda v: True, _normalized),
    "aggregate": (lambda v: True, lambda v: v),
    "uppercase": (lambda v: isinstance(v, str), str.upper),
    "lowercase": (lambda v: isinstance(v, str), str.lower),
    "trim": (lambda v: isinstance(v, str), str.strip),
    "double": (_is_number, lambda v: v * 2),
    "square": (_is_number, lambda v: v * v),
    "negate": (_is_number, lambda v: -v),
    "abs": (_is_number, abs),
    "round": (_is_number, round),
}
Operation = Literal[
    "none", "transform", "aggregate", "uppercase", "lowercase", "trim", "double", "square", "negate", "abs", "round"
]
Aggregate = Literal["count", "sum", "min", "max", "avg", "distinct"]
NUMERIC_AGGREGATES = frozenset({"sum", "min", "max", "avg"})
ALL_AGGREGATES: list[Aggregate] = ["count", "sum", "min", "max", "avg"]


def _as_list(value: Any) -> Any:
    # The seed passes one object as `data` as readily as a list of them.
    return value if isinstance(value, list) else [value]


class ProcessDataParams(TaskParams):
    """Apply `operation` to each item (or each item's `field`), then aggregate, optionally per `groupBy`.

    Seed 001 calls it `processData(data, operation)`; the earlier names `items` and `transform`
    are still accepted."""

    # Declared before `data`, whose check reads them.
    operation: Operation = Field(default="none", validation_alias=AliasChoices("operation", "transform"))
    field: str | None = Field(default=None, max_length=128)
    aggregate: list[Aggregate] | None = Field(default=None, max_length=6, description="default: count")
    group_by: str | None = Field(default=None, max_length=128)
    include_items: bool | None = Field(default=None, description="default: true, false for `aggregate`")
    data: Annotated[list[Item], BeforeValidator(_as_list)] = Field(
        min_length=1, max_length=MAX_ITEMS, validation_alias=AliasChoices("data", "items")
    )

    def value(self, item: Any) -> Any:
        return item.get(self.field) if self.field is not None and isinstance(item, dict) else item

    def aggregates(self) -> list[Aggregate]:
        return _aggregates_for(self.operation, self.aggregate)

    def by_column(self) -> bool:
        """Aggregated per column: `aggregate` over objects with no `field` named."""
        return _by_column(self.operation, self.field, self.data)

    @field_validator("data")
    @classmethod
    def _values_fit(cls, data: list[Any], info: ValidationInfo) -> list[Any]:
        # Located at `data` or `items`, whichever the caller sent.
        operation, field = info.data.get("operation"), info.data.get("field")
        if operation is None or "aggregate" not in info.data:
            return data  # already refused on its own field
        if (field is not None or info.data.get("group_by") is not None) and not all(isinstance(i, dict) for i in data):
            raise ValueError("`field` and `groupBy` need objects as items")
        if _by_column(operation, field, data):
            return data
        accepts = TRANSFORMS[operation][0]
        numeric = NUMERIC_AGGREGATES.intersection(_aggregates_for(operation, info.data.get("aggregate")))
        for index, item in enumerate(data):
            value = item.get(field) if field is not None and isinstance(item, dict) else item
            if not accepts(value):
                raise ValueError(f"item {index}: {value!r} does not suit {operation!r}")
            if numeric and not _is_number(value):
                raise ValueError(f"item {index}: {sorted(numeric)} need numbers")
        return data


def _aggregates_for(operation: str, asked: list[Aggregate] | None) -> list[Aggregate]:
    if asked is not None:
        return asked
    return ALL_AGGREGATES if operation == "aggregate" else ["count"]


def _by_column(operation: str, field: str | None, data: list[Any]) -> bool:
    return operation == "aggregate" and field is None and all(isinstance(i, dict) for i in data)


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


class ColumnProfile:
    """Running figures of one column over rows seen batch by batch: numbers get count, sum, min, max
    and average; anything else its count of values and of distinct values (bounded)."""

    DISTINCT_LIMIT = 10_000

    def __init__(self) -> None:
        self.numbers: list[int | float] = []
        self.others = 0
        self.distinct: set[str] = set()
        self.missing = 0

    def add(self, value: Any) -> None:
        if value is None:
            self.missing += 1
        elif _is_number(value):
            self.numbers.append(value)
        else:
            self.others += 1
            if len(self.distinct) < self.DISTINCT_LIMIT:
                self.distinct.add(repr(value))

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {"count": len(self.numbers) + self.others, "missing": self.missing}
        if self.numbers:
            out.update(_aggregates(self.numbers, ("sum", "min", "max", "avg")))
        if self.others:
            out["distinct"] = len(self.distinct)
        return out


def profile_rows(rows: Sequence[dict[str, Any]], columns: dict[str, ColumnProfile]) -> None:
    """Add `rows` to the per-column figures; a column absent from a row counts as missing there."""
    for row in rows:
        for key in row.keys() - columns.keys():
            columns[key] = ColumnProfile()
        for key, column in columns.items():
            column.add(row.get(key))


@task("processData", params=ProcessDataParams, positional=("data", "operation"))
def process_data(params: ProcessDataParams, ctx: JobContext) -> dict[str, Any]:
    """The items after `operation` (when asked) with their aggregates: overall, per group, or per column."""
    if params.by_column():
        columns: dict[str, ColumnProfile] = {}
        try:
            for start in range(0, len(params.data), PROGRESS_EVERY):
                ctx.check_deadline()
                profile_rows(params.data[start : start + PROGRESS_EVERY], columns)
            return {"count": len(params.data), "columns": {key: c.view() for key, c in sorted(columns.items())}}
        except OverflowError:
            raise UnrecoverableError(OUT_OF_RANGE) from None
    change = TRANSFORMS[params.operation][1]
    items: list[Any] = []
    values: list[Any] = []
    for index, item in enumerate(params.data, start=1):
        value = change(params.value(item))
        values.append(value)
        items.append({**item, params.field: value} if params.field is not None else value)
        if index % PROGRESS_EVERY == 0:
            ctx.check_deadline()
            ctx.progress(100 * index / len(params.data))
    try:
        result: dict[str, Any] = {"count": len(items), "aggregates": _aggregates(values, params.aggregates())}
        if params.group_by is not None:
            groups: dict[str, list[Any]] = {}
            for item, value in zip(params.data, values, strict=True):
                groups.setdefault(str(item.get(params.group_by)), []).append(value)
            result["groups"] = {key: _aggregates(group, params.aggregates()) for key, group in groups.items()}
    except OverflowError:
        raise UnrecoverableError(OUT_OF_RANGE) from None
    if params.include_items if params.include_items is not None else params.operation != "aggregate":
        result["items"] = items
    return result
