"""Export throughput and memory: mechanics rows through the export worker handler into a CSV in S3,
beside a COPY … TO STDOUT of the same rows, and the handler's peak Python memory at two export sizes.

    .venv/bin/python -m bench.export [--rows 200000] [--rounds 3]

Sizes default by BENCH_SCALE (full: as above; quick: 50,000 rows, one round).

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

import jobline.domains.exports.jobs  # noqa: F401 - registers the job type
from bench import common
from bench.common import scratch_database
from jobline.domains.exports.jobs import JOB_NAME
from jobline.domains.exports.queues import DATA_EXPORT as QUEUE
from jobline.engine.worker import Worker
from jobline.runtime import Runtime
from jobline.store.memory import MemoryJobStore
from jobline_dev.support import make_runtime, receive, sqs_event

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
    from jobline.engine.enqueue import enqueue

    job = enqueue(runtime, queue=QUEUE, name=JOB_NAME, data={"exportType": "mechanics"}, tenant_id=tenant).job
    event = sqs_event(runtime, QUEUE, receive(runtime, QUEUE, max_messages=1))
    worker = Worker(runtime)
    if trace:
        tracemalloc.start()
    with common.captured_output("WARNING"):  # EMF lines and logs counted, not shown
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
    raw = runtime.engine.raw_connection()
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


# The export streams: its peak memory should not grow with the row count (some slack for allocator noise).
MEMORY_GROWTH_LIMIT = 1.5


def main(argv: list[str] | None = None) -> list[common.Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=common.by_scale(2_000, 50_000, 200_000))
    parser.add_argument("--rounds", type=int, default=common.by_scale(1, 1, 3))
    args = parser.parse_args(argv)
    cmd = common.command("bench.export", argv)
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
        runtime.engine.dispose()
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
    results = [
        common.Result(
            bench="export",
            name=f"export (mechanics, CSV to S3), {args.rows:,} rows",
            value=rate,
            unit="rows/s",
            baseline_name="COPY ... TO STDOUT, same rows",
            baseline_value=copy_rate,
            command=cmd,
            note=f"{size:.1f} MiB, moto S3, best of {args.rounds}",
        ),
        common.Result(
            bench="export",
            name=f"export peak traced memory, {args.rows:,} rows",
            value=peak_large / mib,
            unit="MiB",
            baseline_name=f"the same export of {small_rows:,} rows",
            baseline_value=peak_small / mib,
            target=f"does not grow with rows (<= {MEMORY_GROWTH_LIMIT}x)",
            met=peak_large <= MEMORY_GROWTH_LIMIT * peak_small,
            command=cmd,
            note="tracemalloc, S3 stand-in that drops the bytes",
        ),
    ]
    common.emit(results)
    return results


if __name__ == "__main__":
    main()
