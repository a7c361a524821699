"""The other workloads over HTTP on the local stack: a mechanics upload, a CSV export, the waitlist cascade."""

from __future__ import annotations

import csv
import io
import re
import urllib.request
import uuid
from typing import Any

from moto.ses.models import ses_backends

from jobline_dev.local import LocalStack
from jobline_dev.local.template import ACCOUNT_ID
from tests.e2e.support import Api, JobFlow, run_job_flow, wait_for

V1 = "/api/v1"
TOKEN_IN_LINK = re.compile(r"token=([A-Za-z0-9_-]+)")


def upload_mechanics(api: Api, rows: list[dict[str, Any]]) -> dict[str, Any]:
    flow = JobFlow(f"{V1}/bulk-upload/mechanics", {"rows": rows}, f"{V1}/bulk-upload/mechanics/{{job_id}}")
    result = run_job_flow(api, flow)
    assert result.submitted.status == 202, result.submitted.text
    return result.job


def mechanic(n: int) -> dict[str, str]:
    return {
        "firstName": f"Ada{n}",
        "lastName": "Lovelace",
        "email": f"ada{n}@garage.example",
        "mobileNumber": "+447700900123",
    }


def test_mechanics_upload_validates_each_row_and_upserts_the_valid_ones(tenant_api: Api) -> None:
    rows = [mechanic(1), mechanic(2), {"firstName": "", "lastName": "X", "email": "not-an-address"}, mechanic(3)]
    job = upload_mechanics(tenant_api, rows)
    assert job["state"] == "completed", job
    result = job["result"]
    assert (result["uploaded"], result["failed"]) == (3, 1)
    assert {e["row"] for e in result["errors"]} == {3}
    again = upload_mechanics(tenant_api, [mechanic(1)])  # same natural key: updated, not duplicated
    assert (again["result"]["uploaded"], again["result"]["created"], again["result"]["updated"]) == (1, 0, 1)


def test_mechanics_export_writes_the_tenants_rows_to_a_csv_behind_a_download_link(
    stack: LocalStack, tenant_api: Api
) -> None:
    upload_mechanics(tenant_api, [mechanic(n) for n in range(5)])
    flow = JobFlow(
        f"{V1}/jobs/data-export",
        {"exportType": "mechanics", "format": "csv", "columns": ["email", "firstName"]},
        f"{V1}/jobs/data-export/{{job_id}}/status",
    )
    job = run_job_flow(tenant_api, flow).job
    assert job["state"] == "completed", job
    assert job["result"]["rowCount"] == 5
    with urllib.request.urlopen(job["result"]["downloadUrl"], timeout=10) as answer:
        rows = list(csv.DictReader(io.StringIO(answer.read().decode())))
    assert sorted(r["email"] for r in rows) == [f"ada{n}@garage.example" for n in range(5)]
    assert set(rows[0]) == {"email", "firstName"}


def offers_to(stack: LocalStack, address: str) -> list[str]:
    """The offer tokens mailed to `address` (the stack's moto runs in this process)."""
    sent = ses_backends[ACCOUNT_ID][stack.config.region].sent_messages
    return [TOKEN_IN_LINK.search(m.body).group(1) for m in sent if address in m.destinations["ToAddresses"]]


def entry_statuses(api: Api, slot_id: str) -> dict[str, str]:
    answer = api.get(f"{V1}/waitlist/slots/{slot_id}/entries")
    assert answer.status == 200, answer.text
    return {entry["recipient"]: entry["status"] for entry in answer.data}


def test_waitlist_release_offers_the_slot_in_turn_through_decline_and_accept(
    stack: LocalStack, tenant_api: Api, tenant: str
) -> None:
    slot = tenant_api.post(f"{V1}/waitlist/slots", {"name": "Friday 10:00", "holdMinutes": 30})
    assert slot.status == 201, slot.text
    slot_id = slot.data["id"]
    first, second = (f"{name}-{uuid.uuid4().hex[:6]}@example.com" for name in ("first", "second"))
    for address, priority in ((first, 5), (second, 1)):
        joined = tenant_api.post(
            f"{V1}/waitlist/slots/{slot_id}/entries", {"name": "Guest", "email": address, "priority": priority}
        )
        assert joined.status == 201, joined.text

    # Releasing a slot needs the tenant's admin (or an operator's) role.
    released = Api(stack.api_url, stack.token(tenant=tenant, roles=("admin",))).post(
        f"{V1}/waitlist/slots/{slot_id}/release"
    )
    assert released.status == 202, released.text
    token = wait_for(lambda: offers_to(stack, first), timeout=20, what="the first offer e-mail")[0]
    assert entry_statuses(tenant_api, slot_id)[first] == "offered"

    public = Api(stack.api_url)  # the token is the proof: no login
    assert public.post(f"{V1}/waitlist/offers/decline", {"token": token}).status == 200
    assert public.post(f"{V1}/waitlist/offers/decline", {"token": token}).status in (404, 409)  # single use
    second_token = wait_for(lambda: offers_to(stack, second), timeout=20, what="the cascaded offer")[0]
    accepted = public.post(f"{V1}/waitlist/offers/accept", {"token": second_token})
    assert accepted.status == 200, accepted.text
    assert entry_statuses(tenant_api, slot_id) == {first: "declined", second: "accepted"}
    assert tenant_api.get(f"{V1}/waitlist/slots/{slot_id}").data["status"] == "booked"
