"""Export throughput and memory: mechanics rows through the export worker handler into a CSV in S3,
beside a COPY … TO STDOUT of the same rows, and the handler's peak Python memory at two export sizes.

    .venv/bin/python -m bench.export [--rows 200000] [--rounds 3]

Throughput runs against moto's in-process S3. Peak memory (tracemalloc) runs against an S3
stand-in that drops the bytes, so the figure is the export's own (cursor batch, CSV, part
buffer) and not moto's copy of the object; it should not grow with the row count.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from typing import Any

import sqlalchemy as sa
from moto import mock_aws

import jobline.exports.jobs  # noqa: F401 - registers the job type
from bench.common import scratch_database
from jobline.exports.jobs import JOB_NAME, QUEUE
from jobline.runtime import Runtime
from jobline.store.memory import MemoryJobStore
from jobline.worker import Worker
from tests.support import make_runtime, receive, sqs_event

TENANT = "bench-tenant"
COLUMNS = "id, first_name, last_name, email, mobile_number, created_at, updated_at"


class DroppingS3:
    """Enough of the S3 client for the export's writer; counts the bytes and keeps none."""

    def __init__(self) -> None:
        self.bytes = 0

    def create_multipart_upload(self, **kwargs: Any) -> dict[str, str]:
        return {"UploadId": "bench"}

    def upload_part(self, *, Body: bytes, PartNumber: int, **kwargs: Any) -> dict[str, str]:
        self.bytes += len(Body)
        return {"ETag": f'"{PartNumber}"'}

    def put_object(self, *, Body: bytes, **kwargs: Any) -> dict[str, Any]:
        self.bytes += len(Body)
        return {}

    def complete_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        return {}

    def abort_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        return {}


def insert_mechanics(runtime: Runtime, tenant: str, count: int) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            sa.text(
                "INSERT INTO mechanics (organisation_id, first_name, last_name, email, mobile_number) "
                "SELECT :tenant, 'First' || n, 'Last' || n, 'mechanic' || n || '@garage.example', '+44 20 7946 0958' "
                "FROM generate_series(1, :count) AS n"
            ),
            {"tenant": tenant, "count": count},
        )
        session.execute(sa.text("ANALYZE mechanics"))


def run_export(runtime: Runtime, tenant: str, *, trace: bool = False) -> tuple[float, int, dict[str, Any]]:
    """Seconds the worker handler takes for one export (message received beforehand), peak bytes, result."""
    from jobline.enqueue import enqueue

    job = enqueue(runtime, queue=QUEUE, name=JOB_NAME, data={"exportType": "mechanics"}, tenant_id=tenant).job
    event = sqs_event(runtime, QUEUE, receive(runtime, QUEUE, max_messages=1))
    worker = Worker(runtime)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    response = worker.handle_batch(event)
    elapsed = time.perf_counter() - started
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert response == {"batchItemFailures": []}, response
    done = runtime.store.get(job.id)
    assert done is not None and done.result is not None, done
    return elapsed, peak, done.result


class _Sink:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.bytes += len(data)


def run_copy(runtime: Runtime, tenant: str) -> float:
    """Seconds a COPY of the same rows to the client (CSV, discarded) takes."""
    raw = runtime.sessions.kw["bind"].raw_connection()
    try:
        cursor = raw.cursor()
        sink = _Sink()
        started = time.perf_counter()
        cursor.execute(
            f"COPY (SELECT {COLUMNS} FROM mechanics WHERE organisation_id = '{tenant}' ORDER BY id) "
            "TO STDOUT WITH (FORMAT csv, HEADER)",
            stream=sink,
        )
        elapsed = time.perf_counter() - started
        raw.rollback()
        return elapsed
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    small_rows = max(1, args.rows // 4)
    with scratch_database() as url, mock_aws():
        runtime = make_runtime(MemoryJobStore(), database_url=url)
        insert_mechanics(runtime, TENANT, args.rows)
        insert_mechanics(runtime, "bench-small", small_rows)
        best_job = best_copy = float("inf")
        result: dict[str, Any] = {}
        for _ in range(args.rounds):
            seconds, _, result = run_export(runtime, TENANT)
            assert result["rowCount"] == args.rows
            best_job = min(best_job, seconds)
            best_copy = min(best_copy, run_copy(runtime, TENANT))
        runtime._clients["s3"] = DroppingS3()
        _, peak_small, _ = run_export(runtime, "bench-small", trace=True)
        _, peak_large, large = run_export(runtime, TENANT, trace=True)
        assert large["rowCount"] == args.rows
        runtime.sessions.kw["bind"].dispose()
    copy_rate = args.rows / best_copy
    rate = args.rows / best_job
    mib = 1024 * 1024
    size = result["bytes"] / mib
    print(f"export (mechanics, all 7 columns): {args.rows} rows, {size:.1f} MiB CSV, best of {args.rounds}")
    print(f"  baseline COPY … TO STDOUT (same rows, CSV):     {copy_rate:10,.0f} rows/s")
    print(
        f"  worker handler to moto S3 ({result['parts']} parts):        {rate:10,.0f} rows/s  "
        f"ratio {rate / copy_rate:.2f}"
    )
    print(f"  peak traced memory, {small_rows:>9,} rows:          {peak_small / mib:10.1f} MiB")
    print(f"  peak traced memory, {args.rows:>9,} rows:          {peak_large / mib:10.1f} MiB")


if __name__ == "__main__":
    main()
