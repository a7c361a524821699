"""Bulk-upload throughput: mechanics rows through the bulk-upload worker handler (a CSV streamed from S3,
and JSON rows in the payload), beside a COPY of the same rows into the same table, in the same run.

    .venv/bin/python -m bench.bulk_upload [--rows 100000] [--inline-rows 20000] [--rounds 3]
        [--chunk-sizes 500 1000 2000] [--tcp-nodelay]

Sizes default by BENCH_SCALE (full: as above; quick: 20,000 and 5,000 rows, one round, chunks of 1,000).

S3 is moto in-process, so reading the file costs what moto costs; the job store is in memory.
"""

from __future__ import annotations

import argparse
import io
import socket
import time
from typing import Any

import sqlalchemy as sa
from moto import mock_aws

import jobline.domains.bulk.jobs  # noqa: F401 - registers the job types
from bench import common
from bench.common import scratch_database
from jobline.domains.bulk.kinds import JOB_NAME
from jobline.engine.enqueue import enqueue
from jobline.engine.worker import Worker
from jobline.runtime import Runtime
from jobline.store.memory import MemoryJobStore
from jobline_dev.support import make_runtime, receive, sqs_event

TENANT = "bench-tenant"
QUEUE = "bulk-upload-mechanics"
KEY = f"uploads/{TENANT}/mechanics/bench.csv"


def mechanic_cells(n: int) -> tuple[str, str, str, str]:
    return f"First{n}", f"Last{n}", f"mechanic{n}@garage.example", f"+44 20 7946 {n % 10_000:04d}"


def csv_body(rows: int) -> bytes:
    lines = ["firstName,lastName,email,mobileNumber"]
    lines.extend(",".join(mechanic_cells(n)) for n in range(rows))
    return ("\n".join(lines) + "\n").encode()


def json_rows(rows: int) -> list[dict[str, str]]:
    names = ("firstName", "lastName", "email", "mobileNumber")
    return [dict(zip(names, mechanic_cells(n), strict=True)) for n in range(rows)]


def enable_tcp_nodelay(engine: sa.Engine) -> None:
    """What the report proposes for `jobline.postgres.orm.make_engine`: pg8000 leaves Nagle's algorithm on,
    and a statement with a large parameter then waits for a delayed ACK."""

    @sa.event.listens_for(engine, "connect")
    def _nodelay(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection._usock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def truncate(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        session.execute(sa.text("TRUNCATE mechanics"))


def run_job(runtime: Runtime, data: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Seconds the worker handler takes for one bulk-upload job (message received beforehand), and its result."""
    job = enqueue(runtime, queue=QUEUE, name=JOB_NAME, data=data, tenant_id=TENANT).job
    messages = receive(runtime, QUEUE, max_messages=1)
    event = sqs_event(runtime, QUEUE, messages)
    with common.captured_output("WARNING"):  # EMF lines and logs counted, not shown
        started = time.perf_counter()
        response = Worker(runtime).handle_batch(event)
        elapsed = time.perf_counter() - started
    assert response == {"batchItemFailures": []}, response
    done = runtime.store.get(job.id)
    assert done is not None and done.result is not None, done
    return elapsed, done.result


def run_copy(runtime: Runtime, rows: int) -> float:
    """Seconds a COPY of the same rows into the same table takes (CSV built beforehand)."""
    buffer = io.StringIO()
    for n in range(rows):
        buffer.write(",".join((TENANT, *mechanic_cells(n))) + "\n")
    raw = runtime.engine.raw_connection()
    try:
        cursor = raw.cursor()
        buffer.seek(0)
        started = time.perf_counter()
        cursor.execute(
            "COPY mechanics (organisation_id, first_name, last_name, email, mobile_number) "
            "FROM STDIN WITH (FORMAT csv)",
            stream=buffer,
        )
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def main(argv: list[str] | None = None) -> list[common.Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=common.by_scale(1_000, 20_000, 100_000), help="rows in the CSV uploaded to S3"
    )
    parser.add_argument(
        "--inline-rows", type=int, default=common.by_scale(200, 5_000, 20_000), help="rows sent in the job payload"
    )
    parser.add_argument("--rounds", type=int, default=common.by_scale(1, 1, 3))
    parser.add_argument("--tcp-nodelay", action="store_true", help="set TCP_NODELAY on the Postgres connections")
    parser.add_argument(
        "--chunk-sizes",
        type=int,
        nargs="+",
        default=common.by_scale([1_000], [1_000], [500, 1_000, 2_000]),
        help="rows per statement",
    )
    args = parser.parse_args(argv)
    cmd = common.command("bench.bulk_upload", argv)
    best: dict[str, float] = {}

    def keep(label: str, seconds: float) -> None:
        best[label] = min(best.get(label, float("inf")), seconds)

    with scratch_database() as url, mock_aws():
        runtime = make_runtime(MemoryJobStore(), database_url=url)
        if args.tcp_nodelay:
            enable_tcp_nodelay(runtime.engine)
        runtime.client("s3").put_object(Bucket=runtime.settings.jobline_bucket, Key=KEY, Body=csv_body(args.rows))
        inline = json_rows(args.inline_rows)
        # Interleaved rounds, best of each: every side sees the same machine and cache.
        for _ in range(args.rounds):
            for size in args.chunk_sizes:
                source = {"source": {"key": KEY, "format": "csv"}, "chunkSize": size}
                truncate(runtime)
                seconds, result = run_job(runtime, source)
                assert result["created"] == args.rows, result["message"]
                keep(f"S3 CSV, insert, chunkSize {size}", seconds)
                seconds, result = run_job(runtime, source)  # the same file again: every row an update
                assert result["updated"] == args.rows, result["message"]
                keep(f"S3 CSV, update, chunkSize {size}", seconds)
                truncate(runtime)
                seconds, result = run_job(runtime, {"rows": inline, "chunkSize": size})
                assert result["created"] == args.inline_rows, result["message"]
                keep(f"JSON rows, insert, chunkSize {size}", seconds)
            truncate(runtime)
            keep("COPY", run_copy(runtime, args.rows))
        runtime.engine.dispose()

    copy_rate = args.rows / best.pop("COPY")
    nodelay = ", TCP_NODELAY" if args.tcp_nodelay else ""
    print(
        f"bulk upload (mechanics): {args.rows} CSV rows, {args.inline_rows} JSON rows, best of {args.rounds}{nodelay}"
    )
    print(f"  baseline COPY FROM STDIN (same rows, same table): {copy_rate:10,.0f} rows/s")
    results = []
    for label, seconds in best.items():
        rows = args.inline_rows if label.startswith("JSON") else args.rows
        rate = rows / seconds
        print(f"  worker handler, {label:<34} {rate:10,.0f} rows/s  ratio {rate / copy_rate:.2f}")
        results.append(
            common.Result(
                bench="bulk_upload",
                name=f"bulk upload (mechanics), {label}",
                value=rate,
                unit="rows/s",
                baseline_name="COPY FROM STDIN, same rows and table",
                baseline_value=copy_rate,
                command=cmd,
                note=f"{rows:,} rows, best of {args.rounds}",
            )
        )
    common.emit(results)
    return results


if __name__ == "__main__":
    main()
