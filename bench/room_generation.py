"""Room generation throughput: 100 categories x 365 days through the worker handler,
beside a COPY of the same rows into the same table, in the same run.

    .venv/bin/python -m bench.room_generation [--categories 100] [--days 365] [--rounds 3]

Sizes default by BENCH_SCALE (full: as above; quick: 20 categories, one round).
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import io
import time
import uuid

import sqlalchemy as sa
from moto import mock_aws

import jobline.domains.rooms.jobs  # noqa: F401 - registers the job type
from bench import common
from bench.common import scratch_database
from jobline.domains.rooms.generation import JOB_NAME
from jobline.domains.rooms.queues import ROOM_GENERATION as QUEUE
from jobline.domains.rooms.tables import RoomCategory
from jobline.engine.enqueue import enqueue
from jobline.engine.worker import Worker
from jobline.store.memory import MemoryJobStore
from jobline_dev.support import make_runtime, receive, sqs_event

TENANT = "bench-tenant"
START = dt.date(2030, 1, 1)


def make_categories(runtime, count: int) -> list[uuid.UUID]:
    with runtime.sessions.begin() as session:
        categories = [
            RoomCategory(tenant_id=TENANT, name=f"cat-{i}", base_price=decimal.Decimal("100")) for i in range(count)
        ]
        session.add_all(categories)
        session.flush()
        return [c.id for c in categories]


def truncate_rooms(runtime) -> None:
    with runtime.sessions.begin() as session:
        session.execute(sa.text("TRUNCATE rooms"))


def run_worker(runtime, categories: list[uuid.UUID], days: int, batch_size: int) -> float:
    """Seconds the worker handler takes for one job per category (messages received beforehand)."""
    end = START + dt.timedelta(days=days - 1)
    for category_id in categories:
        data = {
            "roomCategoryId": str(category_id),
            "startDate": START.isoformat(),
            "endDate": end.isoformat(),
            "batchSize": batch_size,
        }
        enqueue(runtime, queue=QUEUE, name=JOB_NAME, data=data, tenant_id=TENANT)
    events = []
    while messages := receive(runtime, QUEUE):
        events.append(sqs_event(runtime, QUEUE, messages[:1]))  # the queue's batch size is 1
        events.extend(sqs_event(runtime, QUEUE, [m]) for m in messages[1:])
    assert len(events) == len(categories), len(events)
    worker = Worker(runtime)
    # The worker's EMF lines and logs are counted, not shown (they are stdout in Lambda).
    with common.captured_output("WARNING"):
        started = time.perf_counter()
        for event in events:
            response = worker.handle_batch(event)
            assert response == {"batchItemFailures": []}, response
        return time.perf_counter() - started


def run_copy(runtime, categories: list[uuid.UUID], days: int) -> float:
    """Seconds a COPY of the same rows into the same table takes (CSV built beforehand)."""
    buffer = io.StringIO()
    for category_id in categories:
        for offset in range(days):
            buffer.write(f"{TENANT},{category_id},{START + dt.timedelta(days=offset)},100\n")
    engine = runtime.engine
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        buffer.seek(0)
        started = time.perf_counter()
        cursor.execute("COPY rooms (tenant_id, category_id, date, price) FROM STDIN WITH (FORMAT csv)", stream=buffer)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def count_rooms(runtime) -> int:
    with runtime.sessions() as session:
        return int(session.execute(sa.text("select count(*) from rooms")).scalar_one())


# The worker's rows/s against a COPY of the same rows.
TARGET_RATIO = 0.50


def main(argv: list[str] | None = None) -> list[common.Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", type=int, default=common.by_scale(2, 20, 100))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=common.by_scale(1, 1, 3))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 365], help="days per batch")
    args = parser.parse_args(argv)
    cmd = common.command("bench.room_generation", argv)
    rows = args.categories * args.days
    with scratch_database() as url, mock_aws():
        runtime = make_runtime(MemoryJobStore(), database_url=url)
        categories = make_categories(runtime, args.categories)
        best = {size: float("inf") for size in args.batch_sizes}
        best_copy = float("inf")
        # Interleaved rounds, best of each: the two sides see the same machine and cache.
        for _ in range(args.rounds):
            for size in args.batch_sizes:
                truncate_rooms(runtime)
                best[size] = min(best[size], run_worker(runtime, categories, args.days, size))
                assert count_rooms(runtime) == rows
            truncate_rooms(runtime)
            best_copy = min(best_copy, run_copy(runtime, categories, args.days))
            assert count_rooms(runtime) == rows
        runtime.engine.dispose()
    copy_rate = rows / best_copy
    print(f"room generation: {args.categories} categories x {args.days} days = {rows} rows, best of {args.rounds}")
    print(f"  baseline COPY FROM STDIN (same rows, same table): {copy_rate:10,.0f} rows/s")
    results = []
    for size, seconds in best.items():
        rate = rows / seconds
        print(
            f"  worker handler, batchSize {size:>4} ({-(-args.days // size)} statements/job): "
            f"{rate:10,.0f} rows/s  ratio {rate / copy_rate:.2f} (target >= {TARGET_RATIO:.2f})"
        )
        results.append(
            common.Result(
                bench="room_generation",
                name=f"room generation, batchSize {size}",
                value=rate,
                unit="rows/s",
                baseline_name="COPY FROM STDIN, same rows and table",
                baseline_value=copy_rate,
                target=f">= {TARGET_RATIO:.2f}x COPY",
                met=rate >= TARGET_RATIO * copy_rate,
                command=cmd,
                note=f"{args.categories} categories x {args.days} days, best of {args.rounds}",
            )
        )
    common.emit(results)
    return results


if __name__ == "__main__":
    main()
