"""Job options over HTTP as the seeds send them: milliseconds, bee-queue's `retries`, BullMQ's `repeat`."""

from __future__ import annotations

import datetime as dt

import pytest

from jobline.core.states import JobState
from jobline.tick import periodic
from jobline_dev.support import FakeClock
from tests import jobtypes

V1 = "/api/v1"
Q = jobtypes.QUEUE
ADD = f"{V1}/queues/{Q}/jobs"
REPEATABLE = f"{V1}/admin/jobs/{Q}/repeatable"
EMAIL = {"to": "ann@example.com", "subject": "hello"}
T0 = dt.datetime(2026, 6, 1, 11, 59, 30, tzinfo=dt.UTC)


@pytest.fixture
def clocked(memory_runtime):
    memory_runtime.clock = FakeClock(T0)
    return memory_runtime


def test_delay_5000_schedules_the_job_5_seconds_out(memory_api, clocked, job_types, user_a) -> None:
    answer = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body={**EMAIL, "options": {"delay": 5000}})
    assert (answer.status, answer.data["state"]) == (202, "delayed")
    job = clocked.store.get(answer.data["jobId"])
    assert job.run_at - job.created_at == dt.timedelta(seconds=5)  # not 5000 s (83 min)
    assert job.message_sent  # short enough to ride on the SQS delay
    status = memory_api.get(f"{V1}/jobs/email/{job.id}/status", token=user_a).data
    assert (status["delay"], dt.datetime.fromisoformat(status["scheduledAt"])) == (5000, T0 + dt.timedelta(seconds=5))


def test_seed_001_retries_and_delay_give_four_attempts_5_seconds_out(memory_api, clocked, job_types, user_a) -> None:
    # Seed 001: addJob('sms', {...}, {retries: 3, delay: 5000}).
    body = {**EMAIL, "options": {"retries": 3, "delay": 5000}}
    answer = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body=body)
    assert answer.status == 202, answer.text
    status = memory_api.get(f"{V1}/jobs/email/{answer.data['jobId']}/status", token=user_a).data
    assert (status["maxAttempts"], status["delay"]) == (4, 5000)


def test_timeout_and_backoff_are_milliseconds(memory_api, clocked, user_a) -> None:
    opts = {"timeout": 20_000, "attempts": 5, "backoff": {"type": "exponential", "delay": 5000}}
    answer = memory_api.post(ADD, token=user_a, json_body={"name": "test-echo", "data": {"value": "v"}, "opts": opts})
    assert answer.status == 201, answer.text
    job = clocked.store.get(answer.data["jobId"])
    assert (job.timeout_seconds, job.max_attempts) == (20, 5)
    assert [job.backoff.delay_after(made) for made in (1, 2, 3)] == [5, 10, 20]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"attempts": 3, "retries": 2}, "body.options.retries"),
        ({"retries": -1}, "body.options.retries"),
        ({"delay": 1.5}, "body.options.delay"),
        ({"backoff": {"delay": 1.5}}, "body.options.backoff.delay"),
        ({"repeat": {"pattern": "every day"}}, "body.options.repeat.pattern"),
        ({"repeat": {"every": 1000}}, "body.options.repeat.every"),
        ({"repeat": {"every": 60_000, "tz": "Nowhere/Land"}}, "body.options.repeat.tz"),
        ({"repeat": {}}, "body.options.repeat"),
        ({"repeat": {"pattern": "0 0 * * *", "startDate": "9999-12-31T00:00:00Z"}}, "body.options.repeat.startDate"),
        ({"repeat": {"pattern": "0 0 * * *", "endDate": "2000-01-01T00:00:00Z"}}, "body.options.repeat.endDate"),
        ({"repeat": {"every": 60_000}, "delay": 5000}, "body.options.delay"),
    ],
)
def test_bad_time_options_are_422_naming_the_field(memory_api, job_types, user_a, options, field: str) -> None:
    answer = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body={**EMAIL, "options": options})
    assert answer.status == 422, answer.text
    assert field in answer.fields()


def test_add_with_repeat_answers_the_first_run_and_registers_one_schedule(
    memory_api, clocked, user_a, admin_a, admin_b
) -> None:
    body = {
        "name": "test-echo",
        "data": {"value": "daily"},
        "opts": {"repeat": {"pattern": "0 14 * * *", "tz": "Europe/Paris"}},
    }
    first = memory_api.post(ADD, token=user_a, json_body=body)
    assert (first.status, first.data["state"]) == (202, "delayed")
    job = clocked.store.get(first.data["jobId"])
    assert job.run_at == dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)  # 14:00 in Paris
    [schedule] = memory_api.get(REPEATABLE, token=admin_a).data
    assert (schedule["pattern"], schedule["tz"], schedule["name"]) == ("0 14 * * *", "Europe/Paris", "test-echo")
    assert memory_api.get(REPEATABLE, token=admin_b).data == []  # another tenant's schedule is invisible
    again = memory_api.post(ADD, token=user_a, json_body=body)
    assert (again.status, again.data["jobId"], again.data["created"]) == (200, job.id, False)
    assert len(memory_api.get(REPEATABLE, token=admin_a).data) == 1
    # The tick finds its run already enqueued: still one job.
    assert periodic.run_tick(clocked).recurring_runs == 1
    assert [j.id for j in clocked.store.list_jobs(Q, JobState.DELAYED)] == [job.id]


def test_repeat_on_an_internal_queue_is_refused_like_any_add(memory_api, user_a) -> None:
    body = {"name": "deliver-callback", "data": {}, "opts": {"repeat": {"every": 60_000}}}
    answer = memory_api.post(f"{V1}/queues/webhooks/jobs", token=user_a, json_body=body)
    assert answer.status == 403, answer.text
