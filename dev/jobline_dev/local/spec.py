"""What template.yaml declares, in the shape the local stack runs it: queues, table, bucket, functions."""

from __future__ import annotations

import dataclasses
import json
import logging
import pathlib
from typing import Any

from jobline_dev.local.console import LOGGER
from jobline_dev.local.template import Resolver, TemplateError, resources_of_type

log = logging.getLogger(LOGGER)

FUNCTION_TYPES = ("AWS::Serverless::Function",)
DEFAULT_TIMEOUT_SECONDS = 3  # Lambda's own default when neither the function nor Globals sets one
DEFAULT_MEMORY_MB = 128
# Lambda's defaults for an SQS event source.
DEFAULT_BATCH_SIZE = 10
DEFAULT_MAX_CONCURRENCY = 5


@dataclasses.dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    attributes: dict[str, str]  # SQS attributes, RedrivePolicy as its JSON text
    dead_letter_arn: str | None


@dataclasses.dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    properties: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class BucketSpec:
    logical_id: str
    name: str


@dataclasses.dataclass(frozen=True)
class HttpRoute:
    """One HttpApi event: `method` is upper-case or ANY; `path` may hold {name} and a final {name+}."""

    event_name: str
    method: str
    path: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclasses.dataclass(frozen=True)
class SqsSource:
    event_name: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: float
    max_concurrency: int
    report_batch_item_failures: bool
    enabled: bool

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[-1]


@dataclasses.dataclass(frozen=True)
class ScheduleSpec:
    event_name: str
    expression: str  # rate(...) or cron(...)
    input: str | None  # the constant input (JSON text), or None for EventBridge's own event
    enabled: bool


@dataclasses.dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: pathlib.Path
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    routes: tuple[HttpRoute, ...] = ()
    sqs_sources: tuple[SqsSource, ...] = ()
    schedules: tuple[ScheduleSpec, ...] = ()


@dataclasses.dataclass(frozen=True)
class StackSpec:
    queues: tuple[QueueSpec, ...]
    tables: tuple[TableSpec, ...]
    buckets: tuple[BucketSpec, ...]
    functions: tuple[FunctionSpec, ...]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _queue(resolver: Resolver, logical_id: str, *, resource: dict[str, Any]) -> QueueSpec:
    props = resolver.resolve(resource.get("Properties", {}))
    attributes = {
        key: _text(value)
        for key, value in props.items()
        if key not in {"QueueName", "Tags", "RedrivePolicy", "RedriveAllowPolicy"}
    }
    dead_letter_arn = None
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            policy = props[key]
            attributes[key] = policy if isinstance(policy, str) else _json(policy)
    if "RedrivePolicy" in props:
        dead_letter_arn = str(props["RedrivePolicy"]["deadLetterTargetArn"])
    return QueueSpec(logical_id, resolver.physical_name(logical_id), attributes, dead_letter_arn)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _function(resolver: Resolver, logical_id: str, *, root: pathlib.Path, resource: dict[str, Any]) -> FunctionSpec:
    globals_ = resolver.template.get("Globals", {}).get("Function", {})
    props = {**globals_, **resource.get("Properties", {})}
    variables = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **resource.get("Properties", {}).get("Environment", {}).get("Variables", {}),
    }
    environment = {name: _text(resolver.resolve(value)) for name, value in variables.items()}
    code_uri = resolver.resolve(props.get("CodeUri"))
    if not isinstance(code_uri, str):
        raise TemplateError(f"{logical_id}: only a local CodeUri folder runs locally")
    routes: list[HttpRoute] = []
    sources: list[SqsSource] = []
    schedules: list[ScheduleSpec] = []
    for event_name, event in props.get("Events", {}).items():
        kind = event.get("Type")
        ev = resolver.resolve(event.get("Properties", {}))
        if kind == "HttpApi":
            routes.append(HttpRoute(event_name, str(ev.get("Method", "ANY")).upper(), str(ev.get("Path", "$default"))))
        elif kind == "SQS":
            sources.append(
                SqsSource(
                    event_name=event_name,
                    queue_arn=str(ev["Queue"]),
                    batch_size=int(ev.get("BatchSize", DEFAULT_BATCH_SIZE)),
                    batching_window_seconds=float(ev.get("MaximumBatchingWindowInSeconds", 0)),
                    max_concurrency=int(ev.get("ScalingConfig", {}).get("MaximumConcurrency", DEFAULT_MAX_CONCURRENCY)),
                    report_batch_item_failures="ReportBatchItemFailures" in ev.get("FunctionResponseTypes", []),
                    enabled=bool(ev.get("Enabled", True)),
                )
            )
        elif kind in {"Schedule", "ScheduleV2"}:
            expression = ev.get("Schedule") or ev.get("ScheduleExpression")
            state = str(ev.get("State", "ENABLED")).upper()
            schedules.append(
                ScheduleSpec(
                    event_name=event_name,
                    expression=str(expression),
                    input=ev.get("Input"),
                    enabled=bool(ev.get("Enabled", True)) and state == "ENABLED",
                )
            )
        else:
            # Refusing to start over one event nobody needs locally would stop everyone's stack.
            log.warning("%s.%s: %s events are not emulated locally; skipped", logical_id, event_name, kind)
    return FunctionSpec(
        logical_id=logical_id,
        code_dir=(root / code_uri).resolve(),
        handler=str(props.get("Handler", "app.lambda_handler")),
        timeout_seconds=int(resolver.resolve(props.get("Timeout", DEFAULT_TIMEOUT_SECONDS))),
        memory_mb=int(resolver.resolve(props.get("MemorySize", DEFAULT_MEMORY_MB))),
        environment=environment,
        routes=tuple(routes),
        sqs_sources=tuple(sources),
        schedules=tuple(schedules),
    )


def read_spec(resolver: Resolver, root: pathlib.Path) -> StackSpec:
    """Everything the local stack creates and runs, read from the template behind `resolver`."""
    template = resolver.template
    queues = tuple(
        _queue(resolver, lid, resource=res) for lid, res in resources_of_type(template, "AWS::SQS::Queue").items()
    )
    tables = tuple(
        TableSpec(lid, resolver.physical_name(lid), resolver.resolve(res.get("Properties", {})))
        for lid, res in resources_of_type(template, "AWS::DynamoDB::Table").items()
    )
    buckets = tuple(
        BucketSpec(lid, resolver.physical_name(lid)) for lid in resources_of_type(template, "AWS::S3::Bucket")
    )
    functions = tuple(
        _function(resolver, lid, root=root, resource=res)
        for kind in FUNCTION_TYPES
        for lid, res in resources_of_type(template, kind).items()
    )
    return StackSpec(queues=queues, tables=tables, buckets=buckets, functions=functions)
