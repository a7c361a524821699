"""The scheduled jobs on a daily cron schedule (BullMQ's `repeat: {pattern: '0 0 * * *'}`): at midnight the
tick enqueues the run, the worker runs it, and the schedule moves on to the next midnight."""

from __future__ import annotations

import datetime as dt

import pytest

from jobline.core.states import JobState
from jobline.engine import recurring
from jobline.runtime import Runtime
from jobline.tick.recurring import enqueue_due_runs
from jobline_dev.support import FakeClock
from tests.bulk.helpers import run_job

BEFORE_MIDNIGHT = dt.datetime(2031, 3, 14, 23, 59, 30, tzinfo=dt.UTC)
MIDNIGHT = dt.datetime(2031, 3, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "result_field"), [("update-sitemap", "urlCount"), ("process-campaigns", "campaignsSent")]
)
def test_a_daily_schedule_runs_the_job_at_midnight_for_its_tenant(
    rt: Runtime, tenant: str, name: str, result_field: str
) -> None:
    clock = FakeClock(BEFORE_MIDNIGHT)
    rt.clock = clock
    schedule = recurring.create_schedule(rt, queue="scheduled", name=name, tenant_id=tenant, data={}, cron="0 0 * * *")
    assert schedule.next_run_at == MIDNIGHT

    clock.advance(40)
    assert enqueue_due_runs(rt) == 1
    [job] = rt.store.list_jobs("scheduled", JobState.WAITING, tenant_id=tenant)
    ran = run_job(rt, "scheduled", job.id)

    assert ran.state is JobState.COMPLETED, ran.error
    assert (ran.name, ran.tenant_id) == (name, tenant)
    assert result_field in ran.result
    moved = rt.store.get_schedule(schedule.id)
    assert moved is not None and moved.next_run_at == MIDNIGHT + dt.timedelta(days=1)
