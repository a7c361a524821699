"""Health (public) and Prometheus metrics (operators, text exposition format 0.0.4)."""

from __future__ import annotations

import concurrent.futures
import math
from collections.abc import Callable, Iterable
from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

import jobline
from jobline.api import deps
from jobline.api.envelope import Envelope, responses
from jobline.api.schemas import Health, HealthChecks
from jobline.core.queues import QUEUES
from jobline.engine import operations
from jobline.engine.operations import QueueStats
from jobline.runtime import Runtime
from jobline.telemetry.metrics import QueueMetrics, read_metrics
from jobline.telemetry.observability import logger

router = APIGatewayHttpRouter()

HEALTH_PATH = "/health"

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# (name, help, value) per gauge. Completed and failed are the jobs still retained, which
# retention lowers again, so they are gauges, not counters.
GAUGES: tuple[tuple[str, str, Callable[[QueueStats], int | None]], ...] = (
    ("queue_jobs_waiting", "Jobs waiting to run.", lambda s: s.waiting),
    ("queue_jobs_active", "Jobs running now.", lambda s: s.active),
    ("queue_jobs_failed", "Failed jobs still retained.", lambda s: s.failed),
    ("queue_jobs_completed", "Completed jobs still retained.", lambda s: s.completed),
    ("queue_jobs_delayed", "Jobs waiting for their scheduled time.", lambda s: s.delayed),
    ("queue_paused", "1 when the queue is paused.", lambda s: int(s.paused)),
    ("queue_dlq_depth", "Approximate messages in the queue's dead-letter queue.", lambda s: s.dlq_depth),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _bound(value: float) -> str:
    return "+Inf" if value == math.inf else repr(value)


def render_metrics(stats: Iterable[QueueStats], processed: Iterable[QueueMetrics] = ()) -> str:
    """The exposition text: HELP and TYPE once per metric, one sample per queue (and label set)."""
    stats, processed = list(stats), list(processed)
    lines: list[str] = []
    for name, help_text, value_of in GAUGES:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for queue_stats in stats:
            value = value_of(queue_stats)
            if value is not None:
                lines.append(f'{name}{{queue="{_label(queue_stats.queue)}"}} {value}')
    lines += [
        "# HELP queue_jobs_processed_total Jobs that finished, by outcome.",
        "# TYPE queue_jobs_processed_total counter",
    ]
    for sample in processed:
        for outcome, count in sample.processed.items():
            lines.append(f'queue_jobs_processed_total{{queue="{_label(sample.queue)}",status="{outcome}"}} {count}')
    lines += [
        "# HELP queue_job_duration_seconds How long a job's final attempt ran, by queue and job type.",
        "# TYPE queue_job_duration_seconds histogram",
    ]
    for sample in processed:
        for histogram in sample.durations:
            labels = f'queue="{_label(sample.queue)}",job_type="{_label(histogram.job_type)}"'
            for bound, count in histogram.buckets:
                lines.append(f'queue_job_duration_seconds_bucket{{{labels},le="{_bound(bound)}"}} {count}')
            lines.append(f"queue_job_duration_seconds_sum{{{labels}}} {histogram.duration_sum!r}")
            lines.append(f"queue_job_duration_seconds_count{{{labels}}} {histogram.duration_count}")
    return "\n".join(lines) + "\n"


# The database probe's bound: a health check answers within it even when the database's host
# swallows packets (a connect would otherwise wait for the OS, minutes).
HEALTH_DATABASE_TIMEOUT_SECONDS = 3.0
# The probes run here, so the request can stop waiting: a probe stuck on a silent host is left to
# end on its own (its connect fails in the end), and while two are stuck the next checks time out.
_probes = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="health-db")


def _database_answers(runtime: Runtime) -> None:
    # Through the runtime's own engine: its pool, its credentials (SSM URL, IAM token) and its
    # pre-ping; a warm function's check reuses a pooled connection.
    import sqlalchemy as sa  # already loaded by the API's routes; kept off this module's import

    with runtime.engine.connect() as connection:
        connection.execute(sa.text("select 1"))


def _database_ok(runtime: Runtime) -> bool:
    try:
        _probes.submit(_database_answers, runtime).result(timeout=HEALTH_DATABASE_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - any failure means "down"; the log keeps the cause
        logger.exception("health check: database unreachable")
        return False
    return True


def _store_ok(runtime: Runtime) -> bool:
    try:
        runtime.store.ping()
    except Exception:  # noqa: BLE001 - any failure means "down"; the log keeps the cause
        logger.exception("health check: job store unreachable")
        return False
    return True


@router.get(
    HEALTH_PATH,
    summary="Liveness, job store and database reachability",
    tags=["system"],
    security=[{}],  # an empty requirement: no token needed
    responses=responses(success=(HTTPStatus.OK, HTTPStatus.SERVICE_UNAVAILABLE), public=True),
)
def health(runtime: deps.RuntimeDep) -> Response[Envelope[Health]]:
    """200 when the job store answers a ping and the database a `select 1`; 503 naming what is down.

    Without the job store nothing can be queued (`unavailable`); without the database, jobs wait
    and the domain routes fail (`degraded`).
    """
    store_ok, database_ok = _store_ok(runtime), _database_ok(runtime)
    checks = HealthChecks(database="ok" if database_ok else "down", job_store="ok" if store_ok else "down")
    if store_ok and database_ok:
        body = Envelope[Health](
            message="ok", data=Health(status="ok", store="ok", version=jobline.__version__, checks=checks)
        )
        return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body)
    down = [name for name, ok in (("job store", store_ok), ("database", database_ok)) if not ok]
    data = Health(
        status="degraded" if store_ok else "unavailable",
        store="ok" if store_ok else "unreachable",
        version=jobline.__version__,
        checks=checks,
    )
    body = Envelope[Health](success=False, message=f"{' and '.join(down)} unreachable", data=data)
    return Response(HTTPStatus.SERVICE_UNAVAILABLE, content_types.APPLICATION_JSON, body)


METRICS_PATH = "/metrics"
# Seed 002's Prometheus scrape path, at the root beside /api/v1/metrics: the same route
# function on a router that app.py mounts without the API prefix.
root_router = APIGatewayHttpRouter()
METRICS_SUMMARY = "Queue gauges, processed counters and job durations in Prometheus text format (operators)"
METRICS_RESPONSES: dict[int, OpenAPIResponse] = {
    **responses(HTTPStatus.FORBIDDEN),
    HTTPStatus.OK: {
        "description": "Prometheus text exposition format 0.0.4",
        "content": {PROMETHEUS_CONTENT_TYPE: {"schema": {"type": "string"}}},
    },
}


@root_router.get(METRICS_PATH, summary=METRICS_SUMMARY, tags=["system"], responses=METRICS_RESPONSES)
@router.get(METRICS_PATH, summary=METRICS_SUMMARY, tags=["system"], responses=METRICS_RESPONSES)
def metrics(runtime: deps.RuntimeDep, operator: deps.OperatorDep) -> Response[str]:
    """Every queue's counts, SQS depths and DLQ depth as gauges; processed jobs by outcome; the
    final attempt's duration by queue and job type."""
    text = render_metrics(
        (operations.queue_stats(runtime, name) for name in QUEUES),
        (read_metrics(runtime, name) for name in QUEUES),
    )
    return Response(HTTPStatus.OK, PROMETHEUS_CONTENT_TYPE, text)
