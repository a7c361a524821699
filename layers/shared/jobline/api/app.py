"""The API application: the resolver, its routers under /api/v1, OpenAPI and Swagger UI.

`functions/api/app.py` re-exports `lambda_handler`; tests call `create_app(runtime_provider)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import jobline
from jobline.api import (
    admin,
    admin_page,
    bulk,
    deps,
    errors,
    jobs,
    queues,
    rooms,
    schedules,
    system,
    tasks,
    waitlist,
    waitlist_jobs,
    webhooks,
)
from jobline.api.resolver import JoblineResolver
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger, tracer

API_PREFIX = "/api/v1"
# The bee-queue and waitlist systems (seeds 001 and 003) served their job routes under /api/jobs:
# the same routers answer there too, as routes of this resolver (and of its OpenAPI document).
SEED_PREFIX = "/api"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"
SWAGGER_PATH = f"{API_PREFIX}/swagger"
BEARER = "bearerAuth"
PUBLIC_ROUTES = frozenset(
    {
        ("GET", f"{API_PREFIX}{system.HEALTH_PATH}"),
        ("GET", OPENAPI_PATH),
        ("GET", SWAGGER_PATH),
        # An offer is answered with the token from its link: the person offered has no login.
        *((method, f"{API_PREFIX}{path}") for method, path in waitlist.PUBLIC_PATHS),
        # The page holds no data: it asks for a token and calls the API with it.
        *(("GET", path) for path in admin_page.PAGE_PATHS),
    }
)
# Order matters where shapes overlap: Powertools tries static routes first, then dynamic
# ones in registration order. So /jobs/<type>/stats precedes /jobs/<queueName>/<jobId>, and
# /admin/jobs/<queue>/repeatable precedes /admin/jobs/<queue>/<jobId>.
ROUTERS = (
    system.router,
    queues.router,
    jobs.router,
    waitlist_jobs.router,
    waitlist.router,
    schedules.router,
    admin.router,
    rooms.router,
    bulk.router,
    tasks.router,
    webhooks.router,
)
SEED_ROUTERS = (jobs.router, waitlist_jobs.router)


def create_app(runtime_provider: Callable[[], Runtime] | None = None) -> JoblineResolver:
    """The API around `runtime_provider` (default: the process-wide runtime)."""
    app = JoblineResolver(public_routes=PUBLIC_ROUTES)
    app.configure_openapi(
        title="Jobline API",
        version=jobline.__version__,
        description="Background jobs on AWS: enqueue, inspect and manage jobs and queues.",
        security_schemes={BEARER: HTTPBearer(bearerFormat="JWT")},
        security=[{BEARER: []}],
    )
    app.enable_swagger(path=SWAGGER_PATH, persist_authorization=True)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    for router in SEED_ROUTERS:
        app.include_router(router, prefix=SEED_PREFIX)
    app.include_router(admin_page.router)  # /admin and /admin/jobs, outside the API prefix
    app.include_router(system.root_router)  # /metrics at the root, where Prometheus scrapes by default

    # The document only changes with the code: build it on first request, once per app.
    document = functools.cache(app.get_openapi_json_schema)

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi_document() -> Response[str]:
        return Response(200, content_types.APPLICATION_JSON, document())

    errors.register(app)
    if runtime_provider is not None:
        app.dependency_overrides[deps.current_runtime] = runtime_provider
    return app


app = create_app()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2) request."""
    try:
        return app.resolve(event, context)
    finally:
        logger.thread_safe_remove_keys(["tenant_id"])  # set once the caller is known (resolver.py)
