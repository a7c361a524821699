"""Lambda events as AWS hands them to a function: API Gateway HTTP API (payload v2) requests, and the
context Powertools reads. The API tests and the benchmarks drive the handlers with them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode


@dataclasses.dataclass
class LambdaContextStub:
    """What Powertools' logger reads from a Lambda context."""

    function_name: str = "jobline-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:jobline-api"
    aws_request_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/jobline-api"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def http_event(
    method: str,
    path: str,
    *,
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    is_base64: bool = False,
    raw_query: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload v2 event, as the $default route hands it to Lambda."""
    raw_query = urlencode(query or {}, doseq=True) if raw_query is None else raw_query
    now = dt.datetime.now(dt.UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        # API Gateway lower-cases header names in v2 events.
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234",
            "domainName": "api1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "api1234",
            "http": {
                "method": method,
                "path": unquote(path),  # decoded; rawPath keeps the encoding
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "pytest",
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if raw_query:
        # Repeated keys arrive comma-joined in v2 events.
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(raw_query).items()}
    if body is not None:
        event["body"] = body
    return event
