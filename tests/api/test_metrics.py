"""Processed counters and the duration histogram on /metrics, recorded by the worker."""

from __future__ import annotations

import datetime as dt

from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline.telemetry.metrics import read_metrics
from jobline_dev.support import deliver
from tests import jobtypes

Q = jobtypes.QUEUE


def test_worker_outcomes_show_as_processed_counters_and_histogram(memory_api, memory_runtime, operator) -> None:
    for i in range(3):
        enqueue(memory_runtime, queue=Q, name="test-echo", data={"value": f"v{i}"}, tenant_id="t1")
    enqueue(
        memory_runtime,
        queue=Q,
        name="test-echo",
        data={"value": "x", "fail_times": 9},
        tenant_id="t2",
        options=JobOptions(attempts=1),
    )
    deliver(memory_runtime, Worker(memory_runtime), Q)
    sample = read_metrics(memory_runtime, Q)
    assert sample.processed == {"completed": 3, "failed": 1}
    assert sample.duration_count == 4
    assert sample.buckets[-1] == (float("inf"), 4)
    counts = [count for _, count in sample.buckets]
    assert counts == sorted(counts)  # cumulative
    text = memory_api.get("/api/v1/metrics", token=operator).text
    assert f'queue_jobs_processed_total{{queue="{Q}",status="completed"}} 3' in text
    assert f'queue_jobs_processed_total{{queue="{Q}",status="failed"}} 1' in text
    assert "# TYPE queue_job_duration_seconds histogram" in text
    labels = f'queue="{Q}",job_type="test-echo"'
    assert f'queue_job_duration_seconds_bucket{{{labels},le="+Inf"}} 4' in text
    assert f"queue_job_duration_seconds_count{{{labels}}} 4" in text
    assert f"queue_job_duration_seconds_sum{{{labels}}} " in text


def test_duration_histogram_is_kept_per_job_type(memory_api, memory_runtime, operator) -> None:
    """Seed 002's queue_job_duration_seconds{queue="export",job_type="bookings-csv"}: one histogram
    per job type of a queue, from the counters written with each job's outcome."""
    from jobline.core.states import JobState
    from jobline.engine.outcomes import record_finished
    from tests.api.helpers import add_job

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for name, seconds in (("test-echo", 2.0), ("test-echo", 0.2), ("test-unrecoverable", 40.0)):
        job = add_job(memory_runtime, queue=Q, name=name, data={"value": "v"})
        done = job.model_copy(
            update={
                "state": JobState.COMPLETED if seconds < 10 else JobState.FAILED,
                "started_at": start,
                "finished_at": start + dt.timedelta(seconds=seconds),
            }
        )
        record_finished(memory_runtime, done, job)
    sample = read_metrics(memory_runtime, Q)
    by_type = {h.job_type: h for h in sample.durations}
    assert set(by_type) == {"test-echo", "test-unrecoverable"}
    echo, unrecoverable = by_type["test-echo"], by_type["test-unrecoverable"]
    assert (echo.duration_count, echo.duration_sum) == (2, 2.2)
    assert dict(echo.buckets)[0.25] == 1 and dict(echo.buckets)[2.5] == 2
    assert (unrecoverable.duration_count, dict(unrecoverable.buckets)[30.0], dict(unrecoverable.buckets)[60.0]) == (
        1,
        0,
        1,
    )
    assert sample.duration_count == 3 and sample.processed == {"completed": 2, "failed": 1}
    text = memory_api.get("/api/v1/metrics", token=operator).text
    assert f'queue_job_duration_seconds_count{{queue="{Q}",job_type="test-echo"}} 2' in text
    assert f'queue_job_duration_seconds_sum{{queue="{Q}",job_type="test-echo"}} 2.2' in text
    assert f'queue_job_duration_seconds_bucket{{queue="{Q}",job_type="test-unrecoverable",le="30.0"}} 0' in text
    assert f'queue_job_duration_seconds_bucket{{queue="{Q}",job_type="test-unrecoverable",le="60.0"}} 1' in text


def test_duration_is_the_final_attempts_run_time(memory_runtime) -> None:
    from jobline.core.states import JobState
    from jobline.engine.outcomes import record_finished
    from tests.api.helpers import add_job

    job = add_job(memory_runtime, queue=Q, name="test-echo", data={"value": "v"})
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    done = job.model_copy(
        update={"state": JobState.COMPLETED, "started_at": start, "finished_at": start + dt.timedelta(seconds=3)}
    )
    record_finished(memory_runtime, done, job)
    sample = read_metrics(memory_runtime, Q)
    assert sample.duration_sum == 3.0
    assert dict(sample.buckets)[2.5] == 0 and dict(sample.buckets)[5.0] == 1
