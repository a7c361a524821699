"""Helpers of the export tests: enqueue through the API, run the job, read the CSV back from S3."""

from __future__ import annotations

import csv
import io
from typing import Any

from jobline.jobs import Job
from jobline.runtime import Runtime
from tests.bulk.helpers import run_job

EXPORT = "/api/v1/jobs/data-export"


def export(api: Any, rt: Runtime, token: str, **payload: Any) -> Job:
    """POST an export, run it; the job as recorded."""
    answer = api.post(EXPORT, token=token, json_body=payload)
    assert answer.status == 201, answer.text
    return run_job(rt, "data-export", answer.data["jobId"])


def read_csv(rt: Runtime, key: str) -> list[list[str]]:
    body = rt.client("s3").get_object(Bucket=rt.settings.jobline_bucket, Key=key)["Body"].read().decode()
    return list(csv.reader(io.StringIO(body)))
