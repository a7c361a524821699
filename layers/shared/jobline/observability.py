"""Logger, tracer and metrics, set up in one module and shared by every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="jobline")
tracer = Tracer(service="jobline")
metrics = Metrics(namespace="Jobline")
