"""The waitlist job triggers of the job-management routes, run by the worker against the real job types."""

from __future__ import annotations

from jobline.states import JobState
from jobline.waitlist import cascade
from jobline.waitlist.models import HoldStatus
from tests.api.helpers import make_token
from tests.waitlist.conftest import run_queue
from tests.waitlist.helpers import holds_of, new_entry, new_slot

EXPIRED = "/api/v1/jobs/expired-holds/trigger"


def expired_offer(rt, tenant):
    slot_id = new_slot(rt, tenant, status="available")
    new_entry(rt, tenant, slot_id, "ola")
    cascade.cascade_slot(rt, tenant_id=tenant, slot_id=slot_id)
    return slot_id


def test_expired_holds_trigger_naming_own_tenant_releases_only_its_holds(rt, api, tenant) -> None:
    mine, theirs = expired_offer(rt, tenant), expired_offer(rt, f"{tenant}-b")
    rt.clock.advance(20 * 60)
    admin = make_token(tenant=tenant, user="ada", roles=["admin"])
    answer = api.post(EXPIRED, token=admin, json_body={"tenantId": tenant})
    assert answer.status == 201, answer.text
    run_queue(rt, "waitlist-expired-holds")
    assert rt.store.get(answer.data["jobId"]).result == {"released": 1}
    assert holds_of(rt, mine)[0].status is HoldStatus.EXPIRED
    assert holds_of(rt, theirs)[0].status is HoldStatus.ACTIVE


def test_expired_holds_trigger_naming_another_tenant_fails_without_retries(rt, api, tenant) -> None:
    theirs = expired_offer(rt, f"{tenant}-b")
    rt.clock.advance(20 * 60)
    admin = make_token(tenant=tenant, user="ada", roles=["admin"])
    answer = api.post(EXPIRED, token=admin, json_body={"tenantId": f"{tenant}-b"})
    run_queue(rt, "waitlist-expired-holds")
    job = rt.store.get(answer.data["jobId"])
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert holds_of(rt, theirs)[0].status is HoldStatus.ACTIVE


def test_expired_holds_trigger_with_unknown_field_answers_422(api, tenant) -> None:
    admin = make_token(tenant=tenant, user="ada", roles=["admin"])
    answer = api.post(EXPIRED, token=admin, json_body={"holdIds": ["h1"]})
    assert answer.status == 422
    assert answer.fields() == ["body.holdIds"]
