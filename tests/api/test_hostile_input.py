"""Hostile input through the API handler: each case gets a 4xx whose error names the field at
fault, and leaves the job store and every Postgres table exactly as they were.

The cases run against one tenant's small world (jobs in every state, a schedule, a room
category, a waitlist slot) so that a request which slipped through would have something
to change. test_input_errors.py covers the basics (malformed JSON, non-object bodies,
the 256 KiB limit, base64); these go further, case by case.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from jobline.api.app import create_app
from jobline.api.resolver import MAX_BODY_BYTES
from jobline.core.states import JobState
from jobline.runtime import Runtime
from tests.api.helpers import Answer, Client, add_job, make_token, move_to, snapshot, use_test_secret

V1 = "/api/v1"
UNSET: Any = object()
RUN_TASK = {"task": "delay", "params": {"ms": 1}}


@dataclasses.dataclass(frozen=True)
class World:
    runtime: Runtime
    api: Client
    tenant: str
    admin: str  # the tenant's admin: every route but the operators' is open to it
    category: str
    slot: str


@pytest.fixture(scope="module")
def world(module_runtime: Runtime) -> Iterator[World]:
    """A tenant with waiting, delayed, failed and completed jobs, a schedule, a room category and a slot."""
    runtime = module_runtime
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    admin = make_token(tenant=tenant, user="ann", roles=["admin"])
    api = Client(create_app(lambda: runtime).resolve)
    with pytest.MonkeyPatch.context() as patch, use_test_secret(patch):
        for state in (JobState.WAITING, JobState.FAILED, JobState.COMPLETED):
            job = add_job(runtime, tenant=tenant, data=RUN_TASK)
            if state is not JobState.WAITING:
                move_to(runtime, job, state)
        add_job(runtime, tenant=tenant, data=RUN_TASK, delay=3_600_000)
        schedule = {"name": "run-task", "data": RUN_TASK, "every": 3_600_000}
        assert api.post(f"{V1}/admin/jobs/generic-task/repeatable", token=admin, json_body=schedule).status == 201
        category = api.post(f"{V1}/room-categories", token=admin, json_body={"name": "Deluxe", "basePrice": 120})
        slot = api.post(f"{V1}/waitlist/slots", token=admin, json_body={"name": "Court 1"})
    assert (category.status, slot.status) == (201, 201), (category.text, slot.text)
    yield World(runtime, api, tenant, admin, category.data["id"], slot.data["id"])


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile request: `body` goes as JSON, `raw` as it is; `{tenant}`, `{category}`, `{slot}` are filled in."""

    id: str
    method: str
    path: str
    field: str
    status: int = 422
    body: Any = UNSET
    raw: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    query: dict[str, str] | None = None
    base64: bool = False

    def send(self, world: World) -> Answer:
        fill = {"{tenant}": world.tenant, "{category}": world.category, "{slot}": world.slot}
        body = json.dumps(_filled(self.body, fill)) if self.body is not UNSET else self.raw
        headers = dict(self.headers)
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
            if self.base64:
                body = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
        return world.api.request(
            self.method,
            V1 + _filled(self.path, fill),
            token=world.admin,
            body=body,
            headers=headers,
            query=self.query,
            is_base64=self.base64,
        )


def _filled(value: Any, fill: dict[str, str]) -> Any:
    if isinstance(value, str):
        for placeholder, text in fill.items():
            value = value.replace(placeholder, text)
        return value
    if isinstance(value, dict):
        return {k: _filled(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, fill) for v in value]
    return value


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


CATEGORY = "/room-categories"
GENERATION = "/room-generation"
SLOTS = "/waitlist/slots"
ENTRIES = "/waitlist/slots/{slot}/entries"
TASKS = "/tasks"
TASK_JOB = "/jobs/generic-task"
EXPORT = "/jobs/data-export"
FILES = "/jobs/file-processing"
ROWS = "/bulk-upload/mechanics"
FROM_S3 = "/bulk-upload/mechanics/from-s3"
CLEAN = "/admin/jobs/generic-task/clean"
DRAIN = "/admin/jobs/generic-task/drain"
REPEATABLE = "/admin/jobs/generic-task/repeatable"
LIST = "/admin/jobs/generic-task/jobs"
STATS = "/room-generation/stats/{category}"
YEAR = dt.date.today().year + 1  # room generation refuses past dates
OK_GENERATION = {"roomCategoryId": "{category}", "startDate": f"{YEAR}-01-01", "endDate": f"{YEAR}-01-05"}
OK_SCHEDULE = {"name": "run-task", "data": RUN_TASK, "every": 60_000}
KIB = 1024

HUGE = [
    Case("ascii-over-limit", "POST", TASK_JOB, "body", 413, raw=json.dumps({"blob": "x" * MAX_BODY_BYTES})),
    # Under the limit in characters, over it in UTF-8 bytes: the limit counts bytes.
    Case(
        "emoji-over-limit-in-bytes",
        "POST",
        TASK_JOB,
        "body",
        413,
        raw=json.dumps({"b": "😀" * (70 * KIB)}, ensure_ascii=False),
    ),
    Case(
        "base64-over-limit",
        "POST",
        ROWS,
        "body",
        413,
        raw=json.dumps({"rows": [{"n": "x" * MAX_BODY_BYTES}]}),
        base64=True,
    ),
    Case("bulk-rows-over-limit", "POST", ROWS, "body", 413, body={"rows": [{"firstName": "x" * 100}] * 3000}),
    Case(
        "over-limit-on-public-route",
        "POST",
        "/waitlist/offers/accept",
        "body",
        413,
        raw='{"token": "' + "a" * MAX_BODY_BYTES + '"}',
    ),
    Case("over-limit-on-get-route", "GET", "/queues/stats", "body", 413, raw="x" * (MAX_BODY_BYTES + 1)),
]
NESTED = [
    # 40,000 levels stay under the body limit.
    Case("nested-objects-40k", "POST", TASK_JOB, "body", raw=nested(40_000)),
    Case("nested-arrays-in-rows", "POST", ROWS, "body", raw='{"rows": [' + "[" * 50_000 + "]" * 50_000 + "]}"),
    # Deeper than the strict JSON reader's 200 levels, shallower than Python's recursion limit.
    Case(
        "nested-300-in-job-data",
        "POST",
        TASK_JOB,
        "body",
        raw='{"task": "delay", "params": {"ms": 1}, "x": ' + nested(300) + "}",
    ),
    Case("nested-300-in-task-params", "POST", TASKS, "body", raw='{"name": "delay", "params": ' + nested(300) + "}"),
]
INVALID_JSON = [
    Case("trailing-comma", "POST", CATEGORY, "body", raw='{"name": "x", "basePrice": 1,}'),
    Case("single-quotes", "POST", CATEGORY, "body", raw="{'name': 'x', 'basePrice': 1}"),
    Case("comment", "POST", SLOTS, "body", raw='{"name": "x" /* hi */}'),
    Case("byte-order-mark", "POST", SLOTS, "body", raw='\ufeff{"name": "x"}'),
    Case("two-documents", "POST", TASKS, "body", raw='{"name": "delay"} {"name": "delay"}'),
    Case("hex-number", "POST", CLEAN, "body", raw='{"grace": 0x10}'),
    Case("leading-zero", "POST", CLEAN, "body", raw='{"grace": 010}'),
    Case("undefined", "POST", TASK_JOB, "body", raw='{"task": undefined}'),
    Case("raw-control-char-in-string", "POST", SLOTS, "body", raw='{"name": "a\tb"}'),
    Case("unterminated-string", "POST", SLOTS, "body", raw='{"name": "abc}'),
    Case("only-whitespace", "POST", CLEAN, "body", raw="   \n "),
    Case(
        "integer-of-5000-digits",
        "POST",
        TASK_JOB,
        "body",
        raw='{"task": "delay", "params": {"ms": 1' + "0" * 5000 + "}}",
    ),
    Case("float-overflowing-to-infinity", "POST", CATEGORY, "body", raw='{"name": "x", "basePrice": 1e999}'),
    Case(
        "negative-overflow-in-job-data",
        "POST",
        TASK_JOB,
        "body",
        raw='{"task": "delay", "params": {"ms": 1}, "x": -1e999}',
    ),
    Case("nan-literal", "POST", CATEGORY, "body", raw='{"name": "x", "basePrice": NaN}'),
    Case("infinity-literal", "POST", SLOTS, "body", raw='{"name": "x", "holdMinutes": Infinity}'),
    Case(
        "minus-infinity-literal", "POST", ENTRIES, "body", raw='{"name": "x", "email": "a@b.co", "priority": -Infinity}'
    ),
]
CONTENT_TYPES = [
    Case(
        "text-plain",
        "POST",
        CATEGORY,
        "header.content-type",
        415,
        raw='{"name": "x", "basePrice": 1}',
        headers={"Content-Type": "text/plain"},
    ),
    Case(
        "form-urlencoded",
        "POST",
        TASKS,
        "header.content-type",
        415,
        raw="name=delay&params=",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "multipart-with-boundary",
        "POST",
        ROWS,
        "header.content-type",
        415,
        raw='--b\r\nContent-Disposition: form-data; name="rows"\r\n\r\n[]\r\n--b--\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    ),
    Case(
        "xml",
        "POST",
        SLOTS,
        "header.content-type",
        415,
        raw="<slot><name>x</name></slot>",
        headers={"Content-Type": "application/xml"},
    ),
    Case(
        "json-patch",
        "POST",
        CLEAN,
        "header.content-type",
        415,
        raw='[{"op": "add"}]',
        headers={"Content-Type": "application/json-patch+json"},
    ),
    Case(
        "json-lookalike",
        "POST",
        DRAIN,
        "header.content-type",
        415,
        raw="{}",
        headers={"Content-Type": "application/jsonp"},
    ),
    Case("wildcard", "POST", DRAIN, "header.content-type", 415, raw="{}", headers={"Content-Type": "*/*"}),
    Case(
        "public-route-text",
        "POST",
        "/waitlist/offers/decline",
        "header.content-type",
        415,
        raw="token=abc",
        headers={"Content-Type": "text/plain"},
    ),
]
SQL = [
    Case("queue-path", "GET", "/admin/jobs/generic-task'%3B%20DROP%20TABLE%20rooms%3B--/stats", "queue", 404),
    Case("queue-name-path", "GET", "/jobs/email'%20OR%20'1'%3D'1/00000000-0000-4000-8000-000000000000", "queue", 404),
    Case("job-id-path", "GET", "/admin/jobs/generic-task/'%20OR%20'1'%3D'1", "path.jobId"),
    Case("slot-id-path", "GET", "/waitlist/slots/1%20OR%201%3D1", "path.slotId"),
    Case("category-id-path", "GET", "/room-generation/stats/'%3B%20DELETE%20FROM%20rooms%3B--", "path.roomCategoryId"),
    Case("date-query", "GET", STATS, "query.startDate", query={"startDate": "2031-01-01' OR '1'='1"}),
    Case("state-query", "GET", LIST, "query.state", query={"state": "waiting' OR 1=1 --"}),
    Case("status-query", "GET", ENTRIES, "query.status", query={"status": "waiting; DROP TABLE waitlist_entries"}),
    Case(
        "category-id-body",
        "POST",
        GENERATION,
        "body.roomCategoryId",
        body={**OK_GENERATION, "roomCategoryId": "x' OR 1=1 --"},
    ),
    Case("export-type", "POST", EXPORT, "body.exportType", body={"exportType": "rooms; DROP TABLE rooms"}),
    Case(
        "export-column",
        "POST",
        EXPORT,
        "body.columns",
        body={"exportType": "rooms", "columns": ["id", "(SELECT password FROM users)"]},
    ),
    Case("task-name", "POST", TASKS, "body.task", body={"name": "delay'; --", "params": {}}),
    Case("drain-flag", "POST", DRAIN, "body.delayed", body={"delayed": "true OR 1=1"}),
]
TRAVERSAL = [
    Case("job-id-dotdot", "GET", "/jobs/generic-task/..%2F..%2Fetc%2Fpasswd/status", "path.jobId"),
    Case("job-id-encoded-dots", "POST", "/admin/jobs/generic-task/%2E%2E/retry", "path.jobId"),
    Case("job-id-unencoded-dotdot", "GET", "/jobs/generic-task/../../etc/passwd/status", "path", 404),
    Case("queue-dotdot", "GET", "/admin/jobs/..%2F..%2Fetc/jobs", "queue", 404),
    Case("queue-dot", "POST", "/admin/jobs/./drain", "queue", 404, body={}),
    Case("schedule-id-dotdot", "DELETE", "/admin/jobs/generic-task/repeatable/..%2F..", "path.scheduleId"),
    Case("bulk-kind", "GET", "/bulk-upload/..%2Fmechanics/00000000-0000-4000-8000-000000000000", "path.kind"),
    Case("s3-key-parent", "POST", FROM_S3, "body.key", body={"key": "uploads/{tenant}/../other-tenant/x.csv"}),
    Case("s3-key-other-tenant", "POST", FROM_S3, "body.key", body={"key": "uploads/tenant-b/mechanics/x.csv"}),
    Case("s3-key-absolute", "POST", FROM_S3, "body.key", body={"key": "/etc/passwd"}),
    Case("s3-key-backslash", "POST", FROM_S3, "body.key", body={"key": "uploads/{tenant}/mechanics\\..\\..\\x.csv"}),
    Case("s3-key-encoded", "POST", FROM_S3, "body.key", body={"key": "uploads/{tenant}/%2e%2e/x.csv"}),
    Case("s3-key-url", "POST", FROM_S3, "body.key", body={"key": "s3://another-bucket/uploads/{tenant}/x.csv"}),
    Case("s3-key-empty-segment", "POST", FROM_S3, "body.key", body={"key": "uploads/{tenant}//x.csv"}),
    Case("s3-key-trailing-newline", "POST", FROM_S3, "body.key", body={"key": "uploads/{tenant}/mechanics/x.csv\n"}),
    Case("file-key-parent", "POST", FILES, "body.key", body={"key": "uploads/{tenant}/../../exports/x.csv"}),
    Case("file-key-exports-area", "POST", FILES, "body.key", body={"key": "exports/{tenant}/x.csv"}),
    Case("export-key-field", "POST", EXPORT, "body.key", body={"exportType": "rooms", "key": "../../etc/passwd"}),
    Case(
        "time-zone",
        "POST",
        REPEATABLE,
        "body.tz",
        body={**OK_SCHEDULE, "every": None, "cron": "0 0 * * *", "tz": "../../../etc/passwd"},
    ),
]
UNICODE = [
    Case("nul-in-category-name", "POST", CATEGORY, "body.name", body={"name": "a\x00b", "basePrice": 1}),
    Case("nul-in-slot-name", "POST", SLOTS, "body.name", body={"name": "a\x00b"}),
    Case("nul-in-entry-name", "POST", ENTRIES, "body.name", body={"name": "\x00", "email": "a@b.co"}),
    Case(
        "nul-in-policy-filter",
        "POST",
        EXPORT,
        "body.filters.type",
        body={"exportType": "policies", "filters": {"type": "a\x00"}},
    ),
    Case("nul-in-task-name", "POST", TASKS, "body.task", body={"name": "delay\x00", "params": {}}),
    Case("nul-in-query", "GET", STATS, "query.startDate", query={"startDate": "2031-01-01\x00"}),
    Case("nul-in-queue-path", "GET", "/queues/generic-task%00/stats", "queue", 404),
    Case("lone-high-surrogate", "POST", CATEGORY, "body", raw='{"name": "\\ud800", "basePrice": 1}'),
    Case(
        "lone-low-surrogate-in-job-data",
        "POST",
        TASK_JOB,
        "body",
        raw='{"task": "delay", "params": {"ms": 1}, "x": "\\udfff"}',
    ),
    Case(
        "lone-surrogate-in-job-id-key",
        "POST",
        TASK_JOB,
        "body",
        raw='{"task": "delay", "params": {"ms": 1}, "options": {"jobId": "\\ud83d"}}',
    ),
    Case("surrogate-in-key", "POST", FROM_S3, "body", raw='{"key": "uploads/x/\\udc00.csv"}'),
    Case("rtl-override-in-queue-path", "GET", "/queues/%E2%80%AEksat-cireneg/stats", "queue", 404),
    Case(
        "zero-width-in-kind", "GET", "/bulk-upload/mechanics%E2%80%8B/00000000-0000-4000-8000-000000000000", "path.kind"
    ),
    Case("zero-width-in-enum", "POST", EXPORT, "body.exportType", body={"exportType": "rooms\u200b"}),
    Case(
        "zero-width-in-uuid",
        "POST",
        GENERATION,
        "body.roomCategoryId",
        body={**OK_GENERATION, "roomCategoryId": "\u200b{category}"},
    ),
    Case("rtl-in-email", "POST", ENTRIES, "body.email", body={"name": "x", "email": "a@b.co\u202e"}),
    Case("emoji-in-phone", "POST", ENTRIES, "body.phone", body={"name": "x", "channel": "sms", "phone": "+1415555📞"}),
    Case(
        "arabic-digits-in-phone",
        "POST",
        ENTRIES,
        "body.phone",
        body={"name": "x", "channel": "sms", "phone": "+١٤١٥٥٥٥٠١٠٠"},
    ),
    Case(
        "fullwidth-digits-for-int", "POST", SLOTS, "body.holdMinutes", body={"name": "x", "holdMinutes": "\uff11\uff10"}
    ),
    Case("emoji-in-cron", "POST", REPEATABLE, "body.cron", body={**OK_SCHEDULE, "every": None, "cron": "0 0 * * 🕐"}),
    Case("long-category-name", "POST", CATEGORY, "body.name", body={"name": "x" * 10_000, "basePrice": 1}),
    Case("long-task-name", "POST", TASKS, "body.name", body={"name": "d" * 129, "params": {}}),
    Case("long-job-id-key", "POST", TASK_JOB, "body.options.jobId", body={**RUN_TASK, "options": {"jobId": "k" * 129}}),
    Case("long-offer-token", "POST", "/waitlist/offers/accept", "body.token", body={"token": "a" * 10_000}),
    Case("long-queue-path", "GET", "/admin/jobs/" + "q" * 65 + "/stats", "path.queue"),
    Case("long-s3-key", "POST", FROM_S3, "body.key", body={"key": "uploads/{tenant}/" + "k" * 1100}),
    Case("long-emoji-slot-name", "POST", SLOTS, "body.name", body={"name": "🛏" * 201}),
]
NUMBERS = [
    Case("negative-grace", "POST", CLEAN, "body.grace", body={"grace": -1}),
    Case("grace-2-pow-63", "POST", CLEAN, "body.grace", body={"grace": 2**63}),
    Case("grace-1e308", "POST", CLEAN, "body.grace", body={"grace": 1e308}),
    Case("clean-limit-zero", "POST", CLEAN, "body.limit", body={"grace": 0, "limit": 0}),
    Case("price-1e308", "POST", CATEGORY, "body.basePrice", body={"name": "x", "basePrice": 1e308}),
    Case("price-negative", "POST", CATEGORY, "body.basePrice", body={"name": "x", "basePrice": -0.01}),
    Case("price-three-decimals", "POST", CATEGORY, "body.basePrice", body={"name": "x", "basePrice": 1.001}),
    Case("price-nan-string", "POST", CATEGORY, "body.basePrice", body={"name": "x", "basePrice": "NaN"}),
    Case(
        "price-override-infinity-string",
        "POST",
        GENERATION,
        "body.priceOverride",
        body={**OK_GENERATION, "priceOverride": "Infinity"},
    ),
    Case(
        "attempts-zero",
        "POST",
        TASKS,
        "body.options.attempts",
        body={"name": "delay", "params": {"ms": 1}, "options": {"attempts": 0}},
    ),
    Case(
        "attempts-2-pow-63",
        "POST",
        TASK_JOB,
        "body.options.attempts",
        body={**RUN_TASK, "options": {"attempts": 2**63}},
    ),
    Case("delay-negative", "POST", TASK_JOB, "body.options.delay", body={**RUN_TASK, "options": {"delay": -1}}),
    Case("delay-1e308", "POST", TASK_JOB, "body.options.delay", body={**RUN_TASK, "options": {"delay": 1e308}}),
    Case(
        "priority-2-pow-63", "POST", ROWS, "body.options.priority", body={"rows": [{}], "options": {"priority": 2**63}}
    ),
    Case(
        "backoff-delay-negative",
        "POST",
        TASK_JOB,
        "body.options.backoff.delay",
        body={**RUN_TASK, "options": {"backoff": {"delay": -5}}},
    ),
    Case("timeout-zero", "POST", TASK_JOB, "body.options.timeout", body={**RUN_TASK, "options": {"timeout": 0}}),
    Case("batch-size-2-pow-63", "POST", GENERATION, "body.batchSize", body={**OK_GENERATION, "batchSize": 2**63}),
    Case("chunk-size-zero", "POST", ROWS, "body.chunkSize", body={"rows": [{}], "chunkSize": 0}),
    Case("hold-minutes-2-pow-63", "POST", SLOTS, "body.holdMinutes", body={"name": "x", "holdMinutes": 2**63}),
    Case(
        "entry-priority-negative",
        "POST",
        ENTRIES,
        "body.priority",
        body={"name": "x", "email": "a@b.co", "priority": -1},
    ),
    Case("every-one-ms", "POST", REPEATABLE, "body.every", body={**OK_SCHEDULE, "every": 1}),
    Case("schedule-limit-zero", "POST", REPEATABLE, "body.limit", body={**OK_SCHEDULE, "limit": 0}),
    Case("task-ms-huge", "POST", TASKS, "body.params.ms", body={"name": "delay", "params": {"ms": 2**63}}),
    Case("query-start-negative", "GET", LIST, "query.start", query={"start": "-1"}),
    Case("query-start-2-pow-63", "GET", LIST, "query.start", query={"start": str(2**63)}),
    Case("query-end-exponent", "GET", LIST, "query.end", query={"end": "1e3"}),
    Case("query-end-before-start", "GET", LIST, "query.end", query={"start": "10", "end": "2"}),
    Case("query-page-too-big", "GET", LIST, "query.end", query={"start": "0", "end": "999999"}),
    Case("query-limit-zero", "GET", ENTRIES, "query.limit", query={"limit": "0"}),
    Case("query-limit-nan", "GET", ENTRIES, "query.limit", query={"limit": "NaN"}),
]
DATES = [
    Case("year-0", "POST", GENERATION, "body.startDate", body={**OK_GENERATION, "startDate": "0000-01-01"}),
    Case("year-10000", "POST", GENERATION, "body.endDate", body={**OK_GENERATION, "endDate": "10000-01-01"}),
    Case("february-30", "POST", GENERATION, "body.startDate", body={**OK_GENERATION, "startDate": "2031-02-30"}),
    Case("month-13", "POST", GENERATION, "body.endDate", body={**OK_GENERATION, "endDate": "2031-13-01"}),
    Case("day-0", "POST", GENERATION, "body.startDate", body={**OK_GENERATION, "startDate": "2031-01-00"}),
    Case("huge-day-range", "POST", GENERATION, "body.endDate", body={**OK_GENERATION, "endDate": "9000-12-31"}),
    Case(
        "year-9999",
        "POST",
        GENERATION,
        "body.startDate",
        body={**OK_GENERATION, "startDate": "9999-01-01", "endDate": "9999-12-31"},
    ),
    Case(
        "end-before-start", "POST", GENERATION, "body.endDate", body={**OK_GENERATION, "endDate": f"{YEAR - 1}-12-31"}
    ),
    Case("date-as-number", "POST", GENERATION, "body.startDate", body={**OK_GENERATION, "startDate": 20310101}),
    Case(
        "scheduled-at-end-of-calendar",
        "POST",
        GENERATION,
        "body.scheduledAt",
        body={**OK_GENERATION, "scheduleType": "scheduled", "scheduledAt": "9999-12-31T23:59:59Z"},
    ),
    Case(
        "scheduled-at-overflows-utc",
        "POST",
        GENERATION,
        "body.scheduledAt",
        body={**OK_GENERATION, "scheduleType": "scheduled", "scheduledAt": "0001-01-01T00:00:00+05:00"},
    ),
    Case(
        "scheduled-at-february-30",
        "POST",
        GENERATION,
        "body.scheduledAt",
        body={**OK_GENERATION, "scheduleType": "scheduled", "scheduledAt": "2031-02-30T09:00:00Z"},
    ),
    Case(
        "scheduled-at-hour-25",
        "POST",
        GENERATION,
        "body.scheduledAt",
        body={**OK_GENERATION, "scheduleType": "scheduled", "scheduledAt": "2031-01-01T25:00:00Z"},
    ),
    Case(
        "scheduled-at-epoch-number",
        "POST",
        GENERATION,
        "body.scheduledAt",
        body={**OK_GENERATION, "scheduleType": "scheduled", "scheduledAt": 1_900_000_000},
    ),
    Case(
        "starts-at-overflows-utc",
        "POST",
        SLOTS,
        "body.startsAt",
        body={"name": "x", "startsAt": "9999-12-31T23:59:59-05:00"},
    ),
    Case("starts-at-as-number", "POST", SLOTS, "body.startsAt", body={"name": "x", "startsAt": 0}),
    Case(
        "run-at-february-30",
        "POST",
        TASK_JOB,
        "body.options.runAt",
        body={**RUN_TASK, "options": {"runAt": "2031-02-30T00:00:00Z"}},
    ),
    Case(
        "run-at-year-0",
        "POST",
        TASKS,
        "body.options.runAt",
        body={"name": "delay", "params": {"ms": 1}, "options": {"runAt": "0000-01-01T00:00:00Z"}},
    ),
    Case(
        "created-from-overflows-utc",
        "POST",
        EXPORT,
        "body.filters.createdFrom",
        body={"exportType": "policies", "filters": {"createdFrom": "0001-01-01T00:00:00+05:00"}},
    ),
    Case(
        "date-from-february-30",
        "POST",
        EXPORT,
        "body.filters.dateFrom",
        body={"exportType": "rooms", "filters": {"dateFrom": "2031-02-30"}},
    ),
    Case(
        "date-range-reversed",
        "POST",
        EXPORT,
        "body.filters",
        body={"exportType": "rooms", "filters": {"dateFrom": "2031-02-01", "dateTo": "2031-01-01"}},
    ),
    Case(
        "schedule-end-year-10000",
        "POST",
        REPEATABLE,
        "body.endDate",
        body={**OK_SCHEDULE, "endDate": "10000-01-01T00:00:00Z"},
    ),
    Case(
        "schedule-end-overflows-utc",
        "POST",
        REPEATABLE,
        "body.endDate",
        body={**OK_SCHEDULE, "endDate": "9999-12-31T23:30:00-05:00"},
    ),
    Case(
        "cron-february-30", "POST", REPEATABLE, "body.cron", body={**OK_SCHEDULE, "every": None, "cron": "0 0 30 2 *"}
    ),
    Case("query-year-0", "GET", STATS, "query.startDate", query={"startDate": "0000-01-01"}),
    Case("query-february-30", "GET", STATS, "query.endDate", query={"endDate": "2031-02-30"}),
]
WRONG_TYPES = [
    # Powertools validates in lax mode, where a list stands for its first item: these drained and cleaned.
    Case("drain-body-in-a-list", "POST", DRAIN, "body", body=[{"delayed": True}]),
    Case("clean-body-in-a-list", "POST", CLEAN, "body", body=[{"grace": 0, "state": "failed"}]),
    Case("trigger-body-in-a-list", "POST", "/jobs/cascade/trigger", "body", body=[None, None]),
    Case("upload-url-body-a-string", "POST", "/bulk-upload/mechanics/upload-url", "body", body="csv"),
    Case("bool-for-int", "POST", CLEAN, "body.grace", body={"grace": False, "state": "failed"}),
    Case("string-for-bool", "POST", DRAIN, "body.delayed", body={"delayed": "yes"}),
    Case("int-for-bool", "POST", DRAIN, "body.delayed", body={"delayed": 1}),
    Case("string-for-int", "POST", SLOTS, "body.holdMinutes", body={"name": "x", "holdMinutes": "10"}),
    Case("float-for-int", "POST", CLEAN, "body.grace", body={"grace": 1.5}),
    Case(
        "bool-for-priority",
        "POST",
        TASKS,
        "body.options.priority",
        body={"name": "delay", "params": {"ms": 1}, "options": {"priority": True}},
    ),
    Case("number-for-name", "POST", CATEGORY, "body.name", body={"name": 42, "basePrice": 1}),
    Case("bool-for-price", "POST", CATEGORY, "body.basePrice", body={"name": "x", "basePrice": True}),
    Case("object-for-rows", "POST", ROWS, "body.rows", body={"rows": {"0": {}}}),
    Case("empty-rows", "POST", ROWS, "body.rows", body={"rows": []}),
    Case("string-for-params", "POST", TASKS, "body.params", body={"name": "delay", "params": "1"}),
    Case("string-for-options", "POST", TASK_JOB, "body.options", body={**RUN_TASK, "options": "fast"}),
    Case(
        "string-for-backoff",
        "POST",
        TASK_JOB,
        "body.options.backoff",
        body={**RUN_TASK, "options": {"backoff": "exponential"}},
    ),
    Case("number-for-channel", "POST", ENTRIES, "body.channel", body={"name": "x", "channel": 1, "email": "a@b.co"}),
    Case("number-for-uuid", "POST", GENERATION, "body.roomCategoryId", body={**OK_GENERATION, "roomCategoryId": 12345}),
    Case("list-for-data", "POST", REPEATABLE, "body.data", body={**OK_SCHEDULE, "data": [1, 2]}),
    Case("string-for-columns", "POST", EXPORT, "body.columns", body={"exportType": "rooms", "columns": "id"}),
    Case("null-for-required", "POST", CATEGORY, "body.name", body={"name": None, "basePrice": 1}),
    Case("object-for-token", "POST", "/waitlist/offers/accept", "body.token", body={"token": {"$ne": ""}}),
    Case(
        "unknown-field", "POST", CATEGORY, "body.tenantId", body={"name": "x", "basePrice": 1, "tenantId": "tenant-b"}
    ),
    Case("tenant-in-generation", "POST", GENERATION, "body.tenantId", body={**OK_GENERATION, "tenantId": "tenant-b"}),
]
GROUPS = {
    "huge": HUGE,
    "nested": NESTED,
    "json": INVALID_JSON,
    "content-type": CONTENT_TYPES,
    "sql": SQL,
    "traversal": TRAVERSAL,
    "unicode": UNICODE,
    "number": NUMBERS,
    "date": DATES,
    "type": WRONG_TYPES,
}
CASES = [pytest.param(case, id=f"{group}-{case.id}") for group, cases in GROUPS.items() for case in cases]


def names_field(answer: Answer, field: str) -> bool:
    """The envelope names `field`, or a part of it (`body.rows.0` for `body.rows`); a whole location
    (`body`, `path`) only as itself, so a malformed body is not taken for a bad field in it."""
    if "." not in field:
        return field in answer.fields()
    return any(f == field or (f or "").startswith(f"{field}.") for f in answer.fields())


@pytest.mark.parametrize("case", CASES)
def test_hostile_request_answers_4xx_naming_the_field_and_changes_nothing(world: World, case: Case) -> None:
    before = snapshot(world.runtime)
    answer = case.send(world)
    assert answer.status == case.status, answer.text
    assert answer.json["success"] is False and answer.json["message"], answer.text
    assert names_field(answer, case.field), answer.text
    assert snapshot(world.runtime) == before


def test_world_has_something_to_lose(world: World) -> None:
    """The cases above would show a change: the tenant has jobs in every state, a schedule and domain rows."""
    state = snapshot(world.runtime)
    assert {json.loads(job)["state"] for job in state["store"]["jobs"].values()} >= {"waiting", "failed", "delayed"}
    assert state["store"]["schedules"]
    assert state["tables"]["room_categories"][0] >= 1 and state["tables"]["waitlist_slots"][0] >= 1


# ---------------------------------------------------------------- accepted, and inert

INERT_NAMES = [
    "Robert'); DROP TABLE room_categories;--",
    "' OR '1'='1",
    "x\\'; SELECT pg_sleep(10); --",
    "\u202eeulav\u200b\u200d",  # right-to-left override and zero-width characters
    "🛏️ Deluxe 👨‍👩‍👧",
    "Ω≈ç√∫ 田中 مرحبا",
]


@pytest.mark.parametrize(
    "name", INERT_NAMES, ids=["sql-drop", "sql-or", "sql-sleep", "rtl-zero-width", "emoji", "scripts"]
)
def test_odd_but_valid_names_are_stored_verbatim_and_touch_nothing_else(world: World, name: str) -> None:
    before = snapshot(world.runtime)["tables"]
    name = f"{name} {uuid.uuid4().hex[:6]}"
    answer = world.api.post(f"{V1}{CATEGORY}", token=world.admin, json_body={"name": name, "basePrice": 1})
    assert answer.status == 201, answer.text
    assert answer.data["name"] == name
    listed = world.api.get(f"{V1}{CATEGORY}", token=world.admin).data
    assert name in [category["name"] for category in listed]
    after = snapshot(world.runtime)["tables"]
    assert after.pop("room_categories")[0] == before.pop("room_categories")[0] + 1
    assert after == before


@pytest.mark.parametrize("key", ["../../etc/passwd", "' OR 1=1 --", "a\x00b", "🔑" * 32])
def test_idempotency_key_is_only_ever_a_key(world: World, key: str) -> None:
    body = {**RUN_TASK, "options": {"jobId": key}}
    first = world.api.post(f"{V1}{TASK_JOB}", token=world.admin, json_body=body)
    again = world.api.post(f"{V1}{TASK_JOB}", token=world.admin, json_body=body)
    assert (first.status, again.status) == (201, 200), (first.text, again.text)
    job_id = first.data["jobId"]
    assert again.data["jobId"] == job_id
    assert str(uuid.UUID(job_id)) == job_id  # the key never becomes the id, a path or a store key
    assert world.runtime.store.get(job_id).key == key


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "Application/Json; Charset=UTF-8"])
def test_json_media_type_is_case_insensitive(world: World, content_type: str) -> None:
    body = json.dumps(RUN_TASK)
    answer = world.api.post(f"{V1}{TASK_JOB}", token=world.admin, body=body, headers={"Content-Type": content_type})
    assert answer.status == 201, answer.text
