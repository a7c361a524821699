"""Schemathesis against the generated OpenAPI document, the handler called in-process.

Every documented operation gets valid and invalid requests; each answer must be no 5xx, a
documented status with its documented content type and schema, a 4xx for a request the
schema forbids, and a 401 when the token is taken away. Schemathesis sends each case
through its WSGI transport; a small adapter turns the WSGI request into the API Gateway
HTTP API (v2) event the Lambda receives.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from jobline.api.admin_page import PAGE_PATHS
from jobline.api.app import OPENAPI_PATH, SWAGGER_PATH, create_app
from jobline_dev.support import make_runtime
from tests.api.helpers import LambdaContextStub, http_event, make_token


class LambdaWsgiAdapter:
    """A WSGI app handing every request to `resolver` (an API resolver) as a v2 event."""

    def __init__(self, resolver: Any) -> None:
        self.resolver = resolver

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Werkzeug's RAW_URI holds the path only when the query was given apart (as
        # schemathesis gives it): the query is in QUERY_STRING, always.
        path = (environ.get("RAW_URI") or quote(environ.get("PATH_INFO", "/"))).partition("?")[0]
        query = environ.get("QUERY_STRING", "")
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        raw_body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        event = http_event(environ["REQUEST_METHOD"], path, raw_query=query, headers=headers)
        if raw_body:
            try:
                event["body"] = raw_body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(raw_body).decode(), True
        answer = self.resolver.resolve(event, LambdaContextStub())
        body = answer.get("body") or ""
        payload = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
        status = int(answer["statusCode"])
        start_response(f"{status} {HTTPStatus(status).phrase}", list((answer.get("headers") or {}).items()))
        return [payload]


ADAPTER = LambdaWsgiAdapter(create_app())
schema = schemathesis.openapi.from_dict(json.loads(ADAPTER.resolver.get_openapi_json_schema()))
schema.app = ADAPTER
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    # The token is ours to give (below); generated Authorization headers would only test 401s.
    with_security_parameters=False,
)
# A body over the API's limit is refused with 413 before anything reads it, schema-violating or not.
schema.config.checks.negative_data_rejection.expected_statuses = [
    *schema.config.checks.negative_data_rejection.expected_statuses,
    "413",
]
# Admin and operator, so every route runs past its role check.
AUTH = {"Authorization": f"Bearer {make_token(tenant='tenant-fuzz', user='fuzzer', roles=['admin', 'operator'])}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,  # every answer's status is in the operation's `responses`
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,  # a request the schema forbids is refused with a 4xx
    ignored_auth,  # a 2xx once per operation, then the same request without a token must be a 401
]
# Served but left out of the document on purpose: the document itself, its viewer, the admin page.
UNDOCUMENTED = {("GET", OPENAPI_PATH), ("GET", SWAGGER_PATH), *(("GET", path) for path in PAGE_PATHS)}


@pytest.fixture
def fuzzed_runtime(aws, memory_store, database_url, job_types) -> Iterator[None]:
    """Point the adapter at an app around a runtime of this test (with Postgres, for the room routes)."""
    runtime = make_runtime(memory_store, database_url=database_url)
    ADAPTER.resolver = create_app(lambda: runtime)
    yield
    ADAPTER.resolver = create_app()
    runtime.engine.dispose()


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    database=None,  # failures print their reproduction; no example database in the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_generated_requests_never_answer_server_error(fuzzed_runtime, case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)


def test_openapi_document_lists_every_route_the_resolver_serves() -> None:
    """So the fuzzing above (which walks the document) reaches every route."""
    resolver = create_app()
    served = {
        (route.method, re.sub(r"<(\w+)>", r"{\1}", route.path))
        for route in (*resolver._static_routes, *resolver._dynamic_routes)  # no public listing in Powertools
    }
    document = json.loads(resolver.get_openapi_json_schema())
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert served >= UNDOCUMENTED
    assert documented == served - UNDOCUMENTED
