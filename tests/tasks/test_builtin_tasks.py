"""Every built-in task, run as a run-task job through the worker on moto's SQS, with each job store."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from jobline.core.context import JobContext
from jobline.core.job import Job, new_job_id
from jobline.core.queues import get_queue
from jobline.core.states import JobState
from jobline.domains.tasks.registry import TASKS
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline_dev.support import FakeClock, deliver
from tests.notifications.support import mail_to, sent_sms

Q = "generic-task"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def run_task(runtime: Any, task: str, params: dict[str, Any], *, tenant: str = "t1", **options: Any) -> Job:
    """Enqueue run-task, deliver the queue once, and return the job as recorded."""
    job = enqueue(
        runtime,
        queue=Q,
        name="run-task",
        data={"task": task, "params": params},
        tenant_id=tenant,
        user_id="alice",
        options=JobOptions(**options),
    ).job
    deliver(runtime, Worker(runtime), Q)
    return runtime.store.get(job.id)


def seed(runtime: Any, *, queue: str, tenant: str, state: JobState, finished_days_ago: float | None = None) -> Job:
    """A job record in `state` (no message): the finished ones finished `finished_days_ago` before now."""
    now = runtime.clock()
    finished = now - dt.timedelta(days=finished_days_ago) if finished_days_ago is not None else None
    job = Job(
        id=new_job_id(),
        queue=queue,
        name="export",
        tenant_id=tenant,
        state=state,
        created_at=(finished or now) - dt.timedelta(minutes=1),
        finished_at=finished,
        max_attempts=1,
    )
    return runtime.store.create(job)


def test_delay_task_waits_and_completes(memory_runtime) -> None:
    started = time.monotonic()
    done = run_task(memory_runtime, "delay", {"ms": 60})
    assert time.monotonic() - started >= 0.06
    assert (done.state, done.result) == (JobState.COMPLETED, {"delayedMs": 60})


def test_delay_task_longer_than_the_job_timeout_fails_at_once_without_retries(memory_runtime) -> None:
    started = time.monotonic()
    done = run_task(memory_runtime, "delay", {"ms": 5_000}, timeout=1_000)
    assert time.monotonic() - started < 1
    assert (done.state, done.attempts) == (JobState.FAILED, 1)
    assert done.error == "UnrecoverableError: a delay of 5000 ms does not fit the job's timeout"


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [([1, 2, 3], 6), ([0.1, 0.2, 0.3], 0.6), ([10**20, 1, -(10**20)], 1), ([-2.5], -2.5)],
)
def test_calculate_sum_task_returns_exact_sum_and_count(memory_runtime, numbers, expected) -> None:
    done = run_task(memory_runtime, "calculateSum", {"numbers": numbers})
    assert done.result == {"sum": expected, "count": len(numbers)}
    assert type(done.result["sum"]) is type(expected)


def test_calculate_sum_task_beyond_float_range_fails_at_once_without_retries(memory_runtime) -> None:
    done = run_task(memory_runtime, "calculateSum", {"numbers": [1e308, 1e308]})
    assert (done.state, done.attempts) == (JobState.FAILED, 1)
    assert done.error == "UnrecoverableError: the result is beyond the range of a float"


def test_process_data_task_transforms_a_field_and_aggregates_per_group(memory_runtime) -> None:
    items = [{"team": "a", "score": 1}, {"team": "b", "score": 2.5}, {"team": "a", "score": 3}]
    params = {
        "items": items,
        "field": "score",
        "transform": "double",
        "aggregate": ["sum", "avg", "max"],
        "groupBy": "team",
    }
    done = run_task(memory_runtime, "processData", params)
    assert done.result == {
        "count": 3,
        "aggregates": {"sum": 13.0, "avg": 13.0 / 3, "max": 6},
        "groups": {"a": {"sum": 8, "avg": 4.0, "max": 6}, "b": {"sum": 5.0, "avg": 5.0, "max": 5.0}},
        "items": [{"team": "a", "score": 2}, {"team": "b", "score": 5.0}, {"team": "a", "score": 6}],
    }


def test_process_data_task_transforms_plain_strings_and_counts_distinct(memory_runtime) -> None:
    params = {"items": [" Ann", "bob ", "ann"], "transform": "trim", "aggregate": ["count", "distinct"]}
    done = run_task(memory_runtime, "processData", params)
    assert done.result == {"count": 3, "aggregates": {"count": 3, "distinct": 3}, "items": ["Ann", "bob", "ann"]}


def test_send_notification_task_enqueues_an_email_job_for_the_same_tenant(memory_runtime, memory_ses) -> None:
    params = {"channel": "email", "recipients": ["ann@example.com"], "subject": "Report", "text": "ready"}
    done = run_task(memory_runtime, "sendNotification", params, tenant="t7")
    assert done.state is JobState.COMPLETED
    assert (done.result["channel"], done.result["queue"], done.result["created"]) == ("email", "email", True)
    email_job = memory_runtime.store.get(done.result["jobId"])
    assert (email_job.name, email_job.tenant_id, email_job.user_id) == ("send-email", "t7", "alice")
    # A queue's default priority may put the job on its priority lane (email's is 3).
    deliver(memory_runtime, Worker(memory_runtime), get_queue("email").lane_for(email_job.priority))
    assert memory_runtime.store.get(email_job.id).state is JobState.COMPLETED
    assert [m.subject for m in mail_to("ann@example.com")] == ["Report"]


def test_send_notification_task_run_again_finds_the_job_it_enqueued(memory_runtime) -> None:
    params = {"channel": "sms", "recipients": ["+14155550100"], "message": "hi"}
    done = run_task(memory_runtime, "sendNotification", params)
    again = TASKS.get("sendNotification").call(params, JobContext(memory_runtime, done, timeout_seconds=10))
    assert (again["jobId"], again["created"]) == (done.result["jobId"], False)
    deliver(memory_runtime, Worker(memory_runtime), "sms")
    assert sent_sms() == [("+14155550100", "hi")]


def test_cleanup_old_data_task_removes_only_its_tenants_old_finished_jobs(runtime) -> None:
    runtime.clock = FakeClock(T0)
    old = [
        seed(runtime, queue="data-export", tenant="t1", state=JobState.COMPLETED, finished_days_ago=10),
        seed(runtime, queue="data-export", tenant="t1", state=JobState.FAILED, finished_days_ago=30),
    ]
    kept = [
        seed(runtime, queue="data-export", tenant="t1", state=JobState.COMPLETED, finished_days_ago=1),
        seed(runtime, queue="data-export", tenant="t1", state=JobState.WAITING),
        seed(runtime, queue="data-export", tenant="t2", state=JobState.COMPLETED, finished_days_ago=10),
        seed(runtime, queue="email", tenant="t1", state=JobState.COMPLETED, finished_days_ago=10),
    ]
    done = run_task(runtime, "cleanupOldData", {"queue": "data-export", "olderThanDays": 7})
    assert done.result == {
        "tableName": "data-export",
        "daysOld": 7,
        "removed": {"completed": 1, "failed": 1},
        "total": 2,
    }
    assert [runtime.store.get(j.id) for j in old] == [None, None]
    assert all(runtime.store.get(j.id) is not None for j in kept)


def test_generate_report_task_counts_the_tenants_jobs_per_queue(runtime) -> None:
    for state in (JobState.COMPLETED, JobState.COMPLETED, JobState.FAILED):
        seed(runtime, queue="data-export", tenant="t1", state=state, finished_days_ago=0)
    seed(runtime, queue="data-export", tenant="t1", state=JobState.WAITING)
    seed(runtime, queue="data-export", tenant="t2", state=JobState.FAILED, finished_days_ago=0)
    done = run_task(runtime, "generateReport", {"queues": ["data-export", "generic-task"]})
    report = done.result
    assert report["tenantId"] == "t1"
    export, tasks = report["queues"]
    assert export == {
        "queue": "data-export",
        "waiting": 1,
        "active": 0,
        "delayed": 0,
        "completed": 2,
        "failed": 1,
        "total": 4,
        "paused": False,
        "failureRate": 0.3333,
    }
    assert (tasks["queue"], tasks["active"]) == ("generic-task", 1)  # the report itself, while it ran
    assert report["totals"]["total"] == 5


def test_generate_report_task_without_queues_covers_every_queue(memory_runtime) -> None:
    from jobline.core.queues import QUEUES

    done = run_task(memory_runtime, "generateReport", {})
    assert [row["queue"] for row in done.result["queues"]] == list(QUEUES)


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("diagnostics.echo", {"message": "hello"}, {"message": "hello"}),
        ("diagnostics.ping", {}, {"pong": True, "tenantId": "t1", "attempt": 1}),
    ],
)
def test_custom_async_task_runs_the_registered_service_method(memory_runtime, method, args, expected) -> None:
    done = run_task(memory_runtime, "customAsyncTask", {"method": method, "args": args})
    assert done.state is JobState.COMPLETED
    assert done.result["method"] == method
    assert expected.items() <= done.result["result"].items()
