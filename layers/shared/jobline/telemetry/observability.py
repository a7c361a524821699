"""Logger, tracer and metrics, set up in one module and shared by every function.

Tracing crosses the queue: the API's X-Ray trace header is kept on the job
(`Job.trace_id`) and sent with every message for it as SQS's `AWSTraceHeader` system
attribute, so the worker's segment joins the trace of the request that asked for the
job, even when the message is sent later by the tick, a retry or a promote.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "jobline"
METRICS_NAMESPACE = "Jobline"

logger = Logger(service=SERVICE)
# AWS calls only: X-Ray's patches for SQLAlchemy and pg8000 cost ~170 ms of every cold start,
# and a job's Postgres time shows in its `## job` subsegment all the same.
TRACED_MODULES = ("botocore",)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

# Lambda puts the invocation's X-Ray trace header here (API Gateway's, for the API).
TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"


def current_trace_header() -> str | None:
    """The X-Ray trace header of this invocation, if it is traced."""
    return os.environ.get(TRACE_HEADER_ENV) or None


def trace_root(header: str | None) -> str | None:
    """The `Root=` trace id of an X-Ray trace header (`Root=1-…;Parent=…;Sampled=1`)."""
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "Root" and value:
            return value
    return None
