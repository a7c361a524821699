"""Seed 002 (BullMQ): its AI jobs and scheduled jobs, the four calls as written, over HTTP against the local stack.

The seed adds them with `addAIJob(name, data)` and `addScheduledJob(name, data, opts)`, which
are BullMQ's `queue.add(name, data, opts)` on the `ai` and `scheduled` queues: over HTTP,
`POST /api/v1/queues/<queue>/jobs` with `{"name", "data", "opts"}`. The data are the seed's
own; its `scheduledTime: new Date()` is sent as JavaScript serialises a Date, a day ahead.

moto serves Bedrock's InvokeModel, but answers every call with an empty object. Here moto's
model answers instead as Claude would (the one part nothing local can stand in for), reading
the prompt the job sent: the packages it offers are the tenant's own room categories.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from jobline_dev.local import LocalStack
from tests.e2e.support import Api, matches, wait_for_job

AI_JOBS = "/api/v1/queues/ai/jobs"
SCHEDULED_JOBS = "/api/v1/queues/scheduled/jobs"
# What `const job = await queue.add(...)` gives a BullMQ caller: the job's id, queue and name.
ADDED = {"success": True, "message": "…", "data": {"jobId": "…", "queue": "…", "name": "…"}}


def _check(expected: Any, answer: Any) -> None:
    problems = matches(expected, answer.body)
    assert not problems, f"{problems}\n{answer.text[:1000]}"


def _status(api: Api, queue: str, job_id: str) -> dict[str, Any]:
    return wait_for_job(api, f"/api/v1/jobs/{queue}/{job_id}/status", timeout=30)


def _js_date(moment: dt.datetime) -> str:
    """`JSON.stringify(new Date(...))`: UTC, milliseconds, `Z`."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ClaudeStandIn:
    """Answers InvokeModel as Claude on Bedrock would, from the prompt it is sent; keeps the prompts."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        prompt = payload["messages"][0]["content"][0]["text"]
        self.prompts.append(prompt)
        if prompt.startswith("Packages on offer"):
            offer = json.loads(prompt.split("(JSON): ", 1)[1].split("\n", 1)[0])
            answer = {
                "recommendations": [
                    {"roomCategoryId": p["id"], "reason": f"{p['name']} has rooms free soon.", "score": 0.8}
                    for p in offer
                ]
            }
        else:
            answer = {
                "riskLevel": "medium",
                "riskScore": 45,
                "expectedDelayMinutes": 20,
                "reasons": ["Traffic leaving Istanbul", "About 450 km on the O-4 motorway"],
            }
        text = f"```json\n{json.dumps(answer)}\n```"
        return {
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": len(prompt) // 4, "output_tokens": len(text) // 4},
        }


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ClaudeStandIn]:
    from moto.bedrockruntime.models import BedrockRuntimeBackend

    stand_in = ClaudeStandIn()

    def invoke_model(backend: Any, payload: dict[str, Any], model_id: str) -> dict[str, Any]:
        return stand_in.answer(payload)

    monkeypatch.setattr(BedrockRuntimeBackend, "invoke_model", invoke_model)
    yield stand_in


def test_seed_002_ai_jobs_as_written_recommend_packages_and_assess_delay_risk(
    tenant_api: Api, category: dict[str, Any], model: ClaudeStandIn
) -> None:
    # addAIJob('package-recommendations', {userId: 'user123', options: {language: 'en'}})
    recommendations = tenant_api.post(
        AI_JOBS, {"name": "package-recommendations", "data": {"userId": "user123", "options": {"language": "en"}}}
    )

    assert recommendations.status in (201, 202), recommendations.text
    _check(ADDED, recommendations)
    assert (recommendations.data["queue"], recommendations.data["name"]) == ("ai", "package-recommendations")

    # addAIJob('delay-risk', {origin: 'Istanbul', destination: 'Ankara', scheduledTime: new Date()})
    departure = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    delay_risk = tenant_api.post(
        AI_JOBS,
        {
            "name": "delay-risk",
            "data": {"origin": "Istanbul", "destination": "Ankara", "scheduledTime": _js_date(departure)},
        },
    )

    assert delay_risk.status in (201, 202), delay_risk.text
    _check(ADDED, delay_risk)

    recommended = _status(tenant_api, "ai", recommendations.data["jobId"])
    assert recommended["state"] == "completed", recommended
    _check(
        {
            "data": {
                "id": recommendations.data["jobId"],
                "queueName": "ai",
                "status": "completed",
                "data": {"userId": "user123", "options": {"language": "en"}},
                "result": {
                    "userId": "user123",
                    "language": "en",
                    "recommendations": [
                        {
                            "roomCategoryId": category["id"],
                            "name": category["name"],
                            "reason": "…",
                            "score": 0.8,
                        }
                    ],
                },
            }
        },
        tenant_api.get(f"/api/v1/jobs/ai/{recommendations.data['jobId']}/status"),
    )
    assessed = _status(tenant_api, "ai", delay_risk.data["jobId"])
    assert assessed["state"] == "completed", assessed
    assert (
        matches(
            {
                "origin": "Istanbul",
                "destination": "Ankara",
                "riskLevel": "medium",
                "riskScore": 45,
                "expectedDelayMinutes": 20,
                "reasons": ["…"],
            },
            assessed["result"],
        )
        == []
    )
    # The prompts the jobs sent: the tenant's category with its availability; the route and the day.
    assert any(category["id"] in p for p in model.prompts)
    assert any('"Istanbul"' in p and f"{departure:%A}" in p for p in model.prompts)


def test_seed_002_ai_job_with_a_bad_date_is_a_422_naming_the_field(tenant_api: Api) -> None:
    answer = tenant_api.post(
        AI_JOBS,
        {"name": "delay-risk", "data": {"origin": "Istanbul", "destination": "Ankara", "scheduledTime": "soon"}},
    )

    assert answer.status == 422, answer.text
    assert "scheduledTime" in answer.text


def test_seed_002_one_time_scheduled_job_process_campaigns_sends_the_due_campaign(
    stack: LocalStack, tenant_api: Api, tenant: str, sql: sa.Engine
) -> None:
    with sql.begin() as conn:
        campaign_id = conn.execute(
            sa.text(
                "INSERT INTO campaigns (tenant_id, name, subject, html, recipients, send_at) "
                "VALUES (:tenant, 'Spring offers', 'Spring is here', '<h1>20% off</h1>', "
                "ARRAY['ana@example.com', 'bo@example.org'], now() - interval '1 minute') RETURNING id"
            ),
            {"tenant": tenant},
        ).scalar_one()

    # const job = await addScheduledJob('process-campaigns', {});
    answer = tenant_api.post(SCHEDULED_JOBS, {"name": "process-campaigns", "data": {}})

    assert answer.status in (201, 202), answer.text
    _check(ADDED, answer)
    job = _status(tenant_api, "scheduled", answer.data["jobId"])
    assert job["state"] == "completed", job
    assert matches({"campaignsSent": 1, "emailJobs": 1, "recipients": 2}, job["result"]) == []
    [sent] = job["result"]["campaigns"]
    assert (sent["id"], sent["status"]) == (str(campaign_id), "sent")
    email = tenant_api.get(f"/api/v1/jobs/email/{sent['emailJobs'][0]}/status")
    assert email.status == 200, email.text
    assert email.data["data"]["to"] == ["ana@example.com", "bo@example.org"]
    with sql.connect() as conn:
        assert conn.execute(
            sa.text("SELECT status FROM campaigns WHERE id = :id"), {"id": campaign_id}
        ).scalar_one() == ("sent")


def test_seed_002_recurring_update_sitemap_with_a_cron_pattern_is_scheduled_daily_at_midnight(
    stack: LocalStack, tenant_api: Api, tenant: str
) -> None:
    # await addScheduledJob('update-sitemap', {}, {repeat: {pattern: '0 0 * * *'}});
    answer = tenant_api.post(
        SCHEDULED_JOBS, {"name": "update-sitemap", "data": {}, "opts": {"repeat": {"pattern": "0 0 * * *"}}}
    )

    assert answer.status in (201, 202), answer.text
    _check(ADDED, answer)
    assert answer.data["name"] == "update-sitemap"
    admin = tenant_api.with_token(stack.token(tenant=tenant, roles=("admin",)))
    schedules = admin.get("/api/v1/admin/jobs/scheduled/repeatable")
    assert schedules.status == 200, schedules.text
    [schedule] = [s for s in schedules.data if s["name"] == "update-sitemap"]
    assert schedule["cron"] == "0 0 * * *"
    midnight = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date()
    assert dt.datetime.fromisoformat(schedule["nextRunAt"]) == dt.datetime.combine(midnight, dt.time(), dt.UTC)


def test_update_sitemap_run_now_writes_the_tenants_sitemap_to_s3(tenant_api: Api, category: dict[str, Any]) -> None:
    """Beyond the seed: the job its schedule runs each midnight, run at once, and its sitemap read back."""
    answer = tenant_api.post(SCHEDULED_JOBS, {"name": "update-sitemap", "data": {}})

    assert answer.status in (201, 202), answer.text
    job = _status(tenant_api, "scheduled", answer.data["jobId"])
    assert job["state"] == "completed", job
    with urllib.request.urlopen(job["result"]["downloadUrl"], timeout=10) as response:
        body = response.read()
    locs = [e.text or "" for e in ET.fromstring(body).iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert any(re.search(rf"/rooms/{category['id']}$", loc) for loc in locs), locs
    assert job["result"]["urlCount"] == len(locs) == 2
