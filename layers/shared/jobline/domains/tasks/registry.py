"""Two registries of named callables: tasks (`@task`) and service methods (`@service_method`).

A name from a request is only ever a key into one of these dicts. Nothing here imports,
resolves attributes or evaluates text, so only code that registered itself can run;
`os.system` or `__import__` are simply names nobody registered.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, ValidationInfo
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from jobline.core.errors import JoblineError, UnrecoverableError

if TYPE_CHECKING:
    from jobline.core.context import JobContext

TaskFunction = Callable[[Any, "JobContext"], Any]

# Registration refuses any other shape, so a registered name is never a dunder or a path.
TASK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
SERVICE_METHOD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}\.[A-Za-z][A-Za-z0-9_]{0,63}$")


class TaskParams(BaseModel):
    """Base of the parameter models: camelCase on the wire like the rest of the API, no unknown keys."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class UnknownTask(JoblineError):
    """No task or service method is registered under the name."""


class InvalidParams(UnrecoverableError):
    """Stored parameters no longer fit the callable's model (a deploy changed it): retrying cannot help."""


@dataclasses.dataclass(frozen=True)
class Registered:
    """A registered callable with its parameter model (None: it takes no parameters).

    `admin_only`: only a tenant admin may start it (the API checks; the job cannot see roles).
    `positional`: the wire names a positional call (`["leads", 30]`) fills, in order, as the
    seed's JavaScript signatures take them.
    """

    name: str
    params_model: type[BaseModel] | None
    run: TaskFunction
    admin_only: bool = False
    positional: tuple[str, ...] = ()

    def named(self, args: Sequence[Any]) -> dict[str, Any]:
        """Positional arguments as named parameters; a ValidationError at the first one too many."""
        if len(args) > len(self.positional):
            takes = ", ".join(self.positional) or "nothing"
            count = f"{len(self.positional)} parameter{'' if len(self.positional) == 1 else 's'}"
            message = f"{self.name} takes {count} ({takes}); this one is too many"
            raise _located(self.name, [((len(self.positional),), message, args[len(self.positional)])])
        return dict(zip(self.positional, args, strict=False))

    def validate(self, params: dict[str, Any] | list[Any]) -> dict[str, Any]:
        """The parameters as stored, always named: checked against the model, in JSON-ready form.

        A list is a positional call; an error in it is located at the argument's index."""
        named = self.named(params) if isinstance(params, list) else params
        if self.params_model is None:
            if named:
                raise ValueError(f"{self.name!r} takes no parameters")
            return {}
        try:
            return self.params_model.model_validate(named).model_dump(mode="json", by_alias=True)
        except ValidationError as exc:
            if not isinstance(params, list):
                raise
            raise self._at_positions(exc) from None

    def _at_positions(self, exc: ValidationError) -> ValidationError:
        # `calculateSum` called with `[[1, "2"]]`: the error at `numbers.1` is the caller's `0.1`.
        index = {name: position for position, name in enumerate(self.positional)}
        errors = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            if loc and loc[0] in index:
                loc = (index[str(loc[0])], *loc[1:])
            errors.append((loc, error["msg"], error.get("input")))
        return _located(self.name, errors)

    def parse(self, params: dict[str, Any]) -> Any:
        """The parameters handed to the callable: the model instance, or an empty dict."""
        return {} if self.params_model is None else self.params_model.model_validate(params)

    def call(self, params: dict[str, Any], ctx: JobContext) -> Any:
        """Run the callable with `params` parsed; InvalidParams if they do not fit."""
        try:
            parsed = self.parse(params)
        except ValidationError as exc:
            raise InvalidParams(str(exc)) from exc
        return self.run(parsed, ctx)


def _located(title: str, errors: list[tuple[tuple[str | int, ...], str, Any]]) -> ValidationError:
    """A ValidationError with these locations and messages (pydantic nests it under the field it checks)."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError("invalid_param", "{reason}", {"reason": message}), loc=loc, input=value
        )
        for loc, message, value in errors
    ]
    return ValidationError.from_exception_data(title, details)


class Registry:
    """Names to callables, each name matching `pattern`."""

    def __init__(self, kind: str, pattern: re.Pattern[str]) -> None:
        self.kind = kind
        self._pattern = pattern
        self._entries: dict[str, Registered] = {}

    def register(
        self,
        name: str,
        params: type[BaseModel] | None,
        *,
        admin_only: bool = False,
        positional: Sequence[str] = (),
    ) -> Callable[[TaskFunction], TaskFunction]:
        if not self._pattern.match(name):
            raise ValueError(f"{self.kind} name {name!r} must match {self._pattern.pattern}")

        def add(func: TaskFunction) -> TaskFunction:
            if name in self._entries and self._entries[name].run is not func:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = Registered(
                name=name, params_model=params, run=func, admin_only=admin_only, positional=tuple(positional)
            )
            return func

        return add

    def get(self, name: str) -> Registered:
        """The callable registered as `name`; UnknownTask otherwise."""
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownTask(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return entry

    def known(self, name: str) -> str:
        """`name`, for a pydantic field validator: a ValueError naming the known entries otherwise."""
        try:
            self.get(name)
        except UnknownTask as exc:
            raise ValueError(str(exc)) from None
        return name

    def fit(self, name: str | None, params: dict[str, Any] | list[Any]) -> dict[str, Any] | list[Any]:
        """`params` (named, or positional) checked against `name`'s model and stored named; an unknown
        name is already reported on its own field."""
        return params if name is None else self.get(name).validate(params)

    def registered_name(self) -> AfterValidator:
        """The validator of a payload field that names an entry: `known`."""
        return AfterValidator(self.known)

    def params_of(self, name_field: str) -> AfterValidator:
        """The validator of a payload field holding the parameters of the entry `name_field` names: `fit`."""

        def fit_named(params: dict[str, Any] | list[Any], info: ValidationInfo) -> dict[str, Any] | list[Any]:
            return self.fit(info.data.get(name_field), params)

        return AfterValidator(fit_named)

    def run(self, name: str, params: dict[str, Any] | list[Any], ctx: JobContext) -> Any:
        """Run `name` with the parameters its payload stored (named by `fit`; a list is named here)."""
        entry = self.get(name)
        return entry.call(params if isinstance(params, dict) else entry.validate(params), ctx)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def unregister(self, name: str) -> None:
        """Forget a name (tests register throwaway callables)."""
        self._entries.pop(name, None)


TASKS = Registry("task", TASK_NAME)
SERVICE_METHODS = Registry("service method", SERVICE_METHOD_NAME)


def task(
    name: str, *, params: type[BaseModel] | None = None, admin_only: bool = False, positional: Sequence[str] = ()
) -> Callable[[TaskFunction], TaskFunction]:
    """Register the decorated `func(params, ctx)` as the task `name`, its parameters checked by `params`
    (given by name, or in the order `positional` lists)."""
    return TASKS.register(name, params, admin_only=admin_only, positional=positional)


def service_method(
    name: str, *, params: type[BaseModel] | None = None, admin_only: bool = False, positional: Sequence[str] = ()
) -> Callable[[TaskFunction], TaskFunction]:
    """Register the decorated `func(params, ctx)` as `service.method`, callable through `customAsyncTask`."""
    return SERVICE_METHODS.register(name, params, admin_only=admin_only, positional=positional)
