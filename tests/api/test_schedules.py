"""Recurring jobs through the admin API."""

from __future__ import annotations

import datetime as dt

import pytest

from jobline.core.states import JobState
from jobline.tick import periodic
from jobline_dev.support import FakeClock
from tests import jobtypes

V1 = "/api/v1"
Q = jobtypes.QUEUE
REPEATABLE = f"{V1}/admin/jobs/{Q}/repeatable"
T0 = dt.datetime(2026, 6, 1, 11, 59, 30, tzinfo=dt.UTC)


@pytest.fixture
def clocked(memory_runtime):
    memory_runtime.clock = FakeClock(T0)
    return memory_runtime


def test_admin_creates_lists_and_deletes_a_cron_schedule(memory_api, clocked, admin_a) -> None:
    body = {"name": "test-echo", "data": {"value": "daily"}, "cron": "0 14 * * *", "tz": "Europe/Paris"}
    created = memory_api.post(REPEATABLE, token=admin_a, json_body=body)
    assert created.status == 201, created.text
    view = created.data
    assert dt.datetime.fromisoformat(view["nextRunAt"]) == dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    assert (view["cron"], view["tz"], view["runs"]) == ("0 14 * * *", "Europe/Paris", 0)
    listed = memory_api.get(REPEATABLE, token=admin_a)
    assert [s["scheduleId"] for s in listed.data] == [view["scheduleId"]]
    assert periodic.run_tick(clocked).recurring_runs == 1
    [job] = clocked.store.list_jobs(Q, JobState.DELAYED)
    assert (job.tenant_id, job.data["value"]) == ("tenant-a", "daily")
    deleted = memory_api.delete(f"{REPEATABLE}/{view['scheduleId']}", token=admin_a)
    assert deleted.status == 200
    assert memory_api.get(REPEATABLE, token=admin_a).data == []


def test_every_is_given_in_milliseconds_like_bullmq(memory_api, clocked, admin_a) -> None:
    body = {"name": "test-echo", "data": {"value": "v"}, "every": 300_000}
    view = memory_api.post(REPEATABLE, token=admin_a, json_body=body).data
    assert view["every"] == 300_000
    assert dt.datetime.fromisoformat(view["nextRunAt"]) == dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "test-echo", "data": {"value": "v"}, "cron": "every day"}, "body.cron"),
        ({"name": "test-echo", "data": {"value": "v"}, "cron": "0 0 * * *", "tz": "Nowhere/Land"}, "body.tz"),
        ({"name": "test-echo", "data": {"value": "v"}, "every": 1000}, "body.every"),
        ({"name": "test-echo", "data": {"value": "v"}}, "body"),
        ({"name": "test-echo", "data": {}, "cron": "0 0 * * *"}, "body.data.value"),
        (
            {"name": "test-echo", "data": {"value": "v"}, "cron": "0 0 * * *", "options": {"jobId": "x"}},
            "body.options.job_id",
        ),
        ({"name": "nope", "cron": "0 0 * * *"}, "name"),
    ],
)
def test_bad_schedules_are_422_naming_the_field(memory_api, admin_a, body, field) -> None:
    answer = memory_api.post(REPEATABLE, token=admin_a, json_body=body)
    assert answer.status == 422, answer.text
    assert field in answer.fields()


def test_schedules_are_tenant_scoped_and_admin_only(memory_api, admin_a, admin_b, user_a, operator) -> None:
    body = {"name": "test-echo", "data": {"value": "v"}, "cron": "0 0 * * *"}
    schedule_id = memory_api.post(REPEATABLE, token=admin_a, json_body=body).data["scheduleId"]
    assert memory_api.get(REPEATABLE, token=admin_b).data == []
    assert memory_api.delete(f"{REPEATABLE}/{schedule_id}", token=admin_b).status == 404
    assert memory_api.post(REPEATABLE, token=user_a, json_body=body).status == 403
    assert [s["scheduleId"] for s in memory_api.get(REPEATABLE, token=operator).data] == [schedule_id]
    assert memory_api.get(f"{V1}/admin/jobs/nope/repeatable", token=admin_a).status == 404


def test_schedule_past_the_tenant_cap_is_422_naming_the_limit(memory_api, clocked, admin_a, user_a) -> None:
    clocked.settings = clocked.settings.model_copy(update={"jobline_max_schedules_per_tenant": 1})
    body = {"name": "test-echo", "data": {"value": "v"}, "cron": "0 14 * * *"}
    assert memory_api.post(REPEATABLE, token=admin_a, json_body=body).status == 201
    refused = memory_api.post(REPEATABLE, token=admin_a, json_body={**body, "cron": "0 15 * * *"})
    assert refused.status == 422, refused.text
    assert "body" in refused.fields()
    assert "JOBLINE_MAX_SCHEDULES_PER_TENANT" in refused.text
    # A repeat on add counts against the same cap, and names where it was asked for.
    add = {"name": "test-echo", "data": {"value": "v"}, "opts": {"repeat": {"pattern": "0 16 * * *"}}}
    refused = memory_api.post(f"{V1}/queues/{Q}/jobs", token=user_a, json_body=add)
    assert refused.status == 422, refused.text
    # (This route names every InvalidPayload under `data`, as it does the payload's own errors.)
    assert [field for field in refused.fields() if field.endswith("options.repeat")], refused.fields()
    assert len(memory_api.get(REPEATABLE, token=admin_a).data) == 1
