"""Benchmarks. Importing the package sets a quiet, offline environment before anything else loads."""

import os

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ[_name] = "bench"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
