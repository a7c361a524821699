"""Processed counters and the duration histogram on /metrics, recorded by the worker."""

from __future__ import annotations

import datetime as dt

from jobline.enqueue import JobOptions, enqueue
from jobline.metrics import read_metrics
from jobline.worker import Worker
from tests import jobtypes
from tests.support import deliver

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
    assert f'queue_job_duration_seconds_bucket{{queue="{Q}",le="+Inf"}} 4' in text
    assert f'queue_job_duration_seconds_count{{queue="{Q}"}} 4' in text


def test_duration_is_the_final_attempts_run_time(memory_runtime) -> None:
    from jobline.metrics import write_finished
    from jobline.states import JobState
    from tests.api.helpers import add_job

    job = add_job(memory_runtime, queue=Q, name="test-echo", data={"value": "v"})
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    done = job.model_copy(
        update={"state": JobState.COMPLETED, "started_at": start, "finished_at": start + dt.timedelta(seconds=3)}
    )
    write_finished(memory_runtime, done, job)
    sample = read_metrics(memory_runtime, Q)
    assert sample.duration_sum == 3.0
    assert dict(sample.buckets)[2.5] == 0 and dict(sample.buckets)[5.0] == 1
