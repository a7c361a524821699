"""Helpers of the bulk-upload tests: run a queued job through the worker, read the tables."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from jobline.core.job import Job
from jobline.domains.bulk.kinds import get_kind
from jobline.engine.worker import Worker
from jobline.runtime import Runtime
from jobline_dev.support import deliver

BASE = "/api/v1/bulk-upload"


def run_job(rt: Runtime, queue: str, job_id: str) -> Job:
    """Deliver the queue's next batch to a worker and return the job as recorded."""
    deliver(rt, Worker(rt), queue)
    job = rt.store.get(job_id)
    assert job is not None
    return job


def upload(api: Any, rt: Runtime, token: str, kind: str, rows: list[Any], **extra: Any) -> Job:
    """POST the rows, expect 202, run the job; the completed job."""
    answer = api.post(f"{BASE}/{kind}", token=token, json_body={"rows": rows, **extra})
    assert answer.status == 202, answer.text
    return run_job(rt, get_kind(kind).queue, answer.data["jobId"])


def table_rows(rt: Runtime, kind: str, organisation_id: str) -> list[dict[str, Any]]:
    """The organisation's rows of a kind, ordered by natural key."""
    spec = get_kind(kind)
    table = spec.table
    with rt.sessions() as session:
        result = session.execute(
            sa.select(table).where(table.c.organisation_id == organisation_id).order_by(table.c[spec.key])
        )
        return [dict(row._mapping) for row in result]


def mechanic(n: int, **changes: Any) -> dict[str, Any]:
    row = {
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
        "email": f"m{n}@garage.example",
        "mobileNumber": "+44 20 7946 0958",
    }
    return {**row, **changes}
