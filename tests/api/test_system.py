"""Health, metrics, queue stats, the OpenAPI document, Swagger UI, unknown routes and the Lambda entry point."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import socket
import threading
import time
import types

import pytest
import redis
from botocore.exceptions import ClientError
from openapi_spec_validator import validate

from jobline.api import app as api_app
from jobline.api import deps, system
from jobline.core.queues import QUEUES
from jobline.core.states import JobState
from jobline.store.memory import MemoryJobStore
from jobline_dev.support import make_runtime
from tests.api.helpers import Client, add_job, move_to

V1 = "/api/v1"
ROOT = pathlib.Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DownStore:
    def ping(self) -> None:
        raise ConnectionError("store is down")


def test_health_without_token_answers_200_ok(db_runtime) -> None:
    answer = Client(api_app.create_app(lambda: db_runtime).resolve).get(f"{V1}/health")
    assert answer.status == 200
    assert answer.json["success"] is True
    assert answer.data["status"] == "ok"
    assert answer.data["checks"] == {"database": "ok", "jobStore": "ok"}


def test_health_store_unreachable_answers_503(db_runtime, monkeypatch) -> None:
    monkeypatch.setattr(db_runtime, "store", DownStore())
    answer = Client(api_app.create_app(lambda: db_runtime).resolve).get(f"{V1}/health")
    assert answer.status == 503
    assert answer.json["success"] is False
    assert answer.json["message"] == "job store unreachable"
    assert answer.data == {
        "status": "unavailable",
        "store": "unreachable",
        "version": answer.data["version"],
        "checks": {"database": "ok", "jobStore": "down"},
    }


def test_health_with_the_database_down_answers_503_naming_the_database(aws) -> None:
    """Issue 16: /health said ok while Postgres was down. A closed port stands for the outage."""
    runtime = make_runtime(MemoryJobStore(), database_url=f"postgresql+pg8000://postgres@127.0.0.1:{closed_port()}/x")
    try:
        answer = Client(api_app.create_app(lambda: runtime).resolve).get(f"{V1}/health")
    finally:
        runtime.engine.dispose()
    assert answer.status == 503
    assert answer.json["success"] is False
    assert answer.json["message"] == "database unreachable"
    assert answer.data["status"] == "degraded"
    assert answer.data["store"] == "ok"
    assert answer.data["checks"] == {"database": "down", "jobStore": "ok"}


def test_health_answers_within_its_bound_when_the_database_host_is_silent(memory_runtime, monkeypatch) -> None:
    """A host that swallows packets must not hold the health check until the Lambda times out."""
    release = threading.Event()

    class SilentEngine:
        def connect(self) -> None:
            release.wait(5)
            raise ConnectionError("no answer")

    monkeypatch.setattr(system, "HEALTH_DATABASE_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setitem(memory_runtime.__dict__, "sessions", types.SimpleNamespace(kw={"bind": SilentEngine()}))
    started = time.monotonic()
    try:
        answer = Client(api_app.create_app(lambda: memory_runtime).resolve).get(f"{V1}/health")
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert answer.status == 503
    assert answer.data["checks"] == {"database": "down", "jobStore": "ok"}


def test_metrics_by_operator_answers_prometheus_text(memory_api, memory_runtime, job_types, operator) -> None:
    add_job(memory_runtime, queue="email", name="send-email", data={"to": "a", "subject": "b"})
    move_to(memory_runtime, add_job(memory_runtime, tenant="tenant-b"), JobState.FAILED)
    answer = memory_api.get(f"{V1}/metrics", token=operator)
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    for name in ("waiting", "active", "failed", "completed", "delayed"):
        assert f"# TYPE queue_jobs_{name} gauge" in text
        assert f"# HELP queue_jobs_{name} " in text
    assert "# TYPE queue_dlq_depth gauge" in text
    assert 'queue_jobs_waiting{queue="email"} 1' in text
    assert 'queue_jobs_failed{queue="generic-task"} 1' in text
    assert 'queue_dlq_depth{queue="email"} 0' in text
    samples = [line for line in text.splitlines() if line.startswith("queue_jobs_waiting{")]
    assert len(samples) == len(QUEUES)
    sample = re.compile(r'^[a-z_]+\{queue="[a-z-]+"(,status="[^"]+"|,job_type="[^"]+"(,le="[^"]+")?)?\} [\d.e+-]+$')
    assert all(sample.match(line) for line in text.splitlines() if not line.startswith("#"))


def test_metrics_at_the_root_path_is_the_same_route_for_operators(
    memory_api, memory_runtime, job_types, operator, admin_a
) -> None:
    """Seed 002 scrapes /metrics: the same answer as /api/v1/metrics, the same token and role."""
    add_job(memory_runtime, queue="email", name="send-email", data={"to": "a", "subject": "b"})
    root = memory_api.get("/metrics", token=operator)
    assert root.status == 200
    assert root.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'queue_jobs_waiting{queue="email"} 1' in root.text
    assert root.text == memory_api.get(f"{V1}/metrics", token=operator).text
    assert memory_api.get("/metrics").status == 401
    refused = memory_api.get("/metrics", token=admin_a)
    assert (refused.status, refused.json["message"]) == (403, "this action needs the operator role")


def test_metrics_at_the_root_path_is_in_the_openapi_document(memory_api) -> None:
    paths = memory_api.get(f"{V1}/openapi.json").json["paths"]
    assert "403" in paths["/metrics"]["get"]["responses"]
    assert "get" in paths[f"{V1}/metrics"]


def test_queues_stats_answers_every_queue_for_callers_tenant(api, runtime, job_types, user_b) -> None:
    add_job(runtime, tenant="tenant-b")
    add_job(runtime, tenant="tenant-a")
    answer = api.get(f"{V1}/queues/stats", token=user_b)
    assert answer.status == 200
    by_queue = {entry["queue"]: entry for entry in answer.data}
    assert set(by_queue) == set(QUEUES)
    assert by_queue["generic-task"]["waiting"] == 1


def test_queue_stats_one_queue_and_unknown_queue(memory_api, user_a) -> None:
    answer = memory_api.get(f"{V1}/queues/bulk-upload-mechanics/stats", token=user_a)
    assert (answer.status, answer.data["queue"], answer.data["total"]) == (200, "bulk-upload-mechanics", 0)
    missing = memory_api.get(f"{V1}/queues/bulk-upload-cats/stats", token=user_a)
    assert (missing.status, missing.fields()) == (404, ["queue"])


def test_openapi_document_is_public_and_valid_openapi_31(memory_api) -> None:
    answer = memory_api.get(f"{V1}/openapi.json")
    assert answer.status == 200
    document = answer.json
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"][f"{V1}/health"]["get"]["security"] == [{}]


def test_openapi_document_lists_every_job_queue_and_system_route(memory_api) -> None:
    paths = memory_api.get(f"{V1}/openapi.json").json["paths"]
    expected = {
        ("get", "/health"), ("get", "/metrics"),
        ("post", "/jobs/{type}"), ("post", "/tasks"),
        ("get", "/jobs/{type}/{jobId}/status"), ("get", "/jobs/{type}/stats"),
        ("get", "/admin/jobs/stats"), ("get", "/admin/jobs/{queue}/stats"), ("get", "/admin/jobs/{queue}/jobs"),
        ("get", "/admin/jobs/{queue}/{jobId}"), ("post", "/admin/jobs/{queue}/{jobId}/retry"),
        ("delete", "/admin/jobs/{queue}/{jobId}"), ("post", "/admin/jobs/{queue}/{jobId}/promote"),
        ("post", "/admin/jobs/{queue}/pause"), ("post", "/admin/jobs/{queue}/resume"),
        ("post", "/admin/jobs/{queue}/clean"), ("post", "/admin/jobs/{queue}/drain"),
        ("get", "/jobs/status"), ("post", "/jobs/pause"), ("post", "/jobs/resume"), ("post", "/jobs/failed/clear"),
        ("post", "/jobs/expired-holds/trigger"), ("post", "/jobs/cascade/trigger"),
        ("post", "/jobs/notifications/retry"), ("post", "/jobs/cleanup/trigger"),
        ("get", "/jobs/{queueName}/{jobId}"), ("post", "/jobs/{queueName}/{jobId}/retry"),
        ("get", "/queues/stats"), ("get", "/queues/{queueName}/stats"),
    }  # fmt: skip
    documented = {(method, path.removeprefix(V1)) for path, item in paths.items() for method in item}
    assert expected <= documented


def test_openapi_document_error_answers_use_the_error_envelope(memory_api) -> None:
    document = memory_api.get(f"{V1}/openapi.json").json
    operation = document["paths"][f"{V1}/admin/jobs/{{queue}}/{{jobId}}/retry"]["post"]
    for code in ("401", "403", "404", "409", "422"):
        schema = operation["responses"][code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}


def test_swagger_ui_is_public_html(memory_api) -> None:
    answer = memory_api.get(f"{V1}/swagger")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/html"
    assert "swagger-ui" in answer.text.lower()


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", f"{V1}/nope"), ("GET", "/elsewhere"), ("PUT", f"{V1}/jobs/email"), ("GET", f"{V1}/jobs/email/a/b/c")],
)
def test_unknown_route_answers_404_envelope(memory_api, user_a, method: str, path: str) -> None:
    answer = memory_api.request(method, path, token=user_a)
    assert answer.status == 404
    assert answer.json == {
        "success": False,
        "message": "no such route",
        "errors": [{"field": "path", "message": "no route has this method and path"}],
    }


def test_unknown_route_without_token_answers_401(memory_api) -> None:
    assert memory_api.get(f"{V1}/nope").status == 401


def _load_function_module():
    spec = importlib.util.spec_from_file_location("api_function_app", ROOT / "functions" / "api" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_function_handler_serves_health_with_the_process_runtime(db_runtime) -> None:
    module = _load_function_module()
    assert module.lambda_handler is api_app.lambda_handler
    api_app.app.dependency_overrides[deps.current_runtime] = lambda: db_runtime
    try:
        answer = Client(module.lambda_handler).get(f"{V1}/health")
    finally:
        api_app.app.dependency_overrides.clear()
    assert (answer.status, answer.data["status"]) == (200, "ok")


def test_function_handler_refuses_unauthenticated_job_routes() -> None:
    answer = Client(api_app.lambda_handler).post(f"{V1}/jobs/email", json_body={"to": "x"})
    assert answer.status == 401


def test_clear_failed_within_sqs_purge_cooldown_answers_429_with_retry_after(
    memory_api, memory_runtime, operator
) -> None:
    def purge(queue: str) -> None:
        error = {"Code": "AWS.SimpleQueueService.PurgeQueueInProgress", "QueryErrorCode": "PurgeQueueInProgress"}
        raise ClientError({"Error": error}, "PurgeQueue")

    memory_runtime.transport.purge_dead_letters = purge
    answer = memory_api.post(f"{V1}/jobs/failed/clear", token=operator)
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "60"


def test_store_failure_answers_503_envelope(memory_api, memory_runtime, user_a, monkeypatch) -> None:
    def down(*args, **kwargs):
        raise redis.ConnectionError("connection refused")

    monkeypatch.setattr(memory_runtime.store, "counts", down)
    answer = memory_api.get(f"{V1}/queues/email/stats", token=user_a)
    assert answer.status == 503
    assert answer.json == {"success": False, "message": "a backing service is unavailable, try again", "errors": []}


def test_unexpected_error_answers_500_envelope_without_details(memory_api, memory_runtime, user_a, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(memory_runtime.store, "counts", broken)
    answer = memory_api.get(f"{V1}/queues/email/stats", token=user_a)
    assert answer.status == 500
    assert answer.json == {"success": False, "message": "internal error", "errors": []}


@pytest.mark.parametrize("path", ["/admin", "/admin/jobs"])
def test_admin_page_outside_the_api_prefix_is_public_html(memory_api, path: str) -> None:
    """At /admin, and at /admin/jobs where seed 002 has its page."""
    answer = memory_api.get(path)
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "<title>" in answer.text and 'const API = "/api/v1"' in answer.text


def test_waitlist_offer_answer_routes_take_no_bearer_token(memory_api) -> None:
    for path in ("/api/v1/waitlist/offers/accept", "/api/v1/waitlist/offers/decline"):
        answer = memory_api.post(path, json_body={})
        assert answer.status == 422, answer.text  # the offer token is missing, not a bearer token
        assert answer.json["success"] is False
