"""The local stack itself: resources read from template.yaml, API Gateway's routing, schedules, batch semantics."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from jobline_dev.local import LocalStack, aws, demo
from jobline_dev.local.gateway import BoundRoute, build_event, match
from jobline_dev.local.pollers import PausedFlags, SqsPoller, failed_ids
from jobline_dev.local.schedules import cron_parts, rate_seconds
from jobline_dev.local.spec import HttpRoute, SqsSource
from tests.e2e.conftest import REDIS_URL
from tests.e2e.support import Api, wait_for
from tests.e2e.test_room_generation import GENERATION, date_range


def test_every_template_queue_exists_with_its_redrive_policy(stack: LocalStack) -> None:
    assert stack.spec is not None
    sqs = aws.client("sqs", endpoint=stack.moto.endpoint, region=stack.config.region)
    redriven = [q for q in stack.spec.queues if q.dead_letter_arn]

    names = {url.rsplit("/", 1)[-1] for url in sqs.list_queues(MaxResults=1000)["QueueUrls"]}

    assert {q.name for q in stack.spec.queues} <= names
    assert redriven, "the template declares dead-letter queues"
    for queue in redriven:
        url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        policy = json.loads(attributes["RedrivePolicy"])
        assert policy["deadLetterTargetArn"] == queue.dead_letter_arn
        assert int(policy["maxReceiveCount"]) == int(json.loads(queue.attributes["RedrivePolicy"])["maxReceiveCount"])
        assert attributes["VisibilityTimeout"] == queue.attributes["VisibilityTimeout"]


def test_the_job_table_and_bucket_exist_as_the_template_declares(stack: LocalStack) -> None:
    assert stack.spec is not None
    (table,) = stack.spec.tables
    described = aws.client("dynamodb", endpoint=stack.moto.endpoint, region=stack.config.region).describe_table(
        TableName=table.name
    )
    indexes = {i["IndexName"] for i in described["Table"].get("GlobalSecondaryIndexes", [])}

    assert indexes == {i["IndexName"] for i in table.properties["GlobalSecondaryIndexes"]}
    assert stack.environment["JOBLINE_TABLE"] == table.name
    buckets = aws.client("s3", endpoint=stack.moto.endpoint, region=stack.config.region).list_buckets()["Buckets"]
    assert stack.environment["JOBLINE_BUCKET"] in {b["Name"] for b in buckets}


def test_jobs_live_in_redis_under_the_stacks_own_prefix(
    stack: LocalStack, tenant_api: Api, category: dict[str, Any]
) -> None:
    start, end = date_range(31)
    answer = tenant_api.post(GENERATION, {"roomCategoryId": category["id"], "startDate": start, "endDate": end})
    prefix = stack.environment["JOBLINE_REDIS_PREFIX"]

    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{prefix}*")]

    assert answer.status == 201, answer.text
    assert stack.environment["JOBLINE_STORE"] == "redis"
    assert any(answer.data["jobId"] in key for key in keys)


def test_demo_data_is_one_room_category_however_often_it_is_seeded(
    stack: LocalStack, tenant: str, tenant_api: Api
) -> None:
    first = demo.seed(tenant)
    second = demo.seed(tenant)

    assert first.category_id == second.category_id
    assert [c["name"] for c in tenant_api.get("/api/v1/room-categories").data] == [demo.DEMO_CATEGORY]


def test_health_answers_without_a_token_and_other_routes_want_one(stack: LocalStack) -> None:
    api = Api(stack.api_url)

    assert api.get("/api/v1/health").body["data"]["status"] == "ok"
    assert api.get("/api/v1/room-categories").status == 401


@pytest.mark.parametrize(("method", "path"), [("GET", "/not-a-route"), ("POST", "/metrics"), ("GET", "/api/other")])
def test_a_path_no_template_route_matches_answers_404_as_api_gateway_does(
    stack: LocalStack, method: str, path: str
) -> None:
    answer = Api(stack.api_url).request(method, path)

    assert (answer.status, answer.body) == (404, {"message": "Not Found"})


def test_the_per_minute_tick_fires_on_its_sped_up_rate(stack: LocalStack) -> None:
    cleanup = stack.functions["CleanupFunction"]
    before = cleanup.invocations

    wait_for(lambda: cleanup.invocations > before, timeout=10, what="the tick schedule")


@pytest.mark.parametrize(
    ("method", "path", "route_key", "params"),
    [
        ("GET", "/api/v1/health", "GET /api/v1/health", {}),
        ("POST", "/api/v1/health", "ANY /api/v1/{proxy+}", {"proxy": "health"}),
        ("GET", "/api/v1/jobs/email/1/status", "ANY /api/v1/{proxy+}", {"proxy": "jobs/email/1/status"}),
        ("GET", "/admin", "GET /admin", {}),  # the public page: its own route, no authorizer
        ("DELETE", "/admin/queues/x", "ANY /admin/{proxy+}", {"proxy": "queues/x"}),
        ("GET", "/admin/jobs", "GET /admin/jobs", {}),
        ("POST", "/admin", "ANY /admin", {}),
        # The seeds' unversioned paths.
        ("GET", "/metrics", "GET /metrics", {}),
        ("POST", "/api/jobs/email/1/retry", "ANY /api/jobs/{proxy+}", {"proxy": "email/1/retry"}),
    ],
)
def test_routes_match_as_api_gateway_picks_them(
    stack: LocalStack, method: str, path: str, route_key: str, params: dict[str, str]
) -> None:
    api = stack.functions["ApiFunction"]
    routes = sorted((BoundRoute.of(r, api) for r in api.spec.routes), key=BoundRoute.specificity)

    found = match(routes, method=method, path=path)

    assert found is not None
    assert (found[0].route.route_key, found[1]) == (route_key, params)


def test_a_request_becomes_a_payload_v2_event() -> None:
    event = build_event(
        method="POST",
        target="/api/v1/x?a=1&a=2&b=",
        headers=[("Content-Type", "application/json"), ("Cookie", "s=1; t=2"), ("X-Many", "1"), ("X-Many", "2")],
        body=b'{"k": 1}',
        route_key=HttpRoute("ApiV1", "ANY", "/api/v1/{proxy+}").route_key,
        params={"proxy": "x"},
    )

    assert event["version"] == "2.0"
    assert (event["rawPath"], event["rawQueryString"]) == ("/api/v1/x", "a=1&a=2&b=")
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["x-many"] == "1,2" and "cookie" not in event["headers"]
    assert event["cookies"] == ["s=1", "t=2"]
    assert (event["body"], event["isBase64Encoded"]) == ('{"k": 1}', False)
    assert event["requestContext"]["http"]["method"] == "POST"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zz"}]}, {"a", "b"}),  # unknown id: the whole batch
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ("nonsense", {"a", "b"}),
    ],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(result: object, expected: set[str]) -> None:
    assert failed_ids(result, {"a", "b"}) == expected


def test_schedule_expressions_translate_to_intervals_and_croniter() -> None:
    assert rate_seconds("rate(1 minute)") == 60
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("cron(0 2 * * ? *)") is None
    assert cron_parts("cron(0 2 * * ? *)") == ("0 2 * * *", "*")
    assert cron_parts("cron(15 10 ? * 2-6 2030)") == ("15 10 * * 1-5", "2030")


class FakeSqs:
    """Hands out prepared receives and records deletes: the poller's SQS calls, without timing."""

    def __init__(self, receives: list[list[dict[str, Any]]]) -> None:
        self.receives = receives
        self.deleted: list[str] = []

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        return {"Messages": self.receives.pop(0) if self.receives else []}

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> None:
        self.deleted.extend(entry["ReceiptHandle"] for entry in Entries)


class FakeFunction:
    logical_id = "FakeFunction"

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.events: list[Any] = []

    def invoke(self, event: Any) -> Any:
        self.events.append(event)
        return self.answer


def _message(n: int) -> dict[str, Any]:
    return {
        "MessageId": f"m{n}",
        "ReceiptHandle": f"r{n}",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "1"},
    }


def _poller(sqs: FakeSqs, function: Any, *, batch_size: int = 10, window: float = 0) -> SqsPoller:
    source = SqsSource(
        event_name="Queue",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
        batch_size=batch_size,
        batching_window_seconds=window,
        max_concurrency=2,
        report_batch_item_failures=True,
        enabled=True,
    )
    paused = PausedFlags(set)
    return SqsPoller(
        source, function, sqs=sqs, queue_url="q", region="us-east-1", paused=paused, queue="q", wait_seconds=0
    )


def test_a_batching_window_gathers_receives_up_to_the_batch_size() -> None:
    sqs = FakeSqs([[_message(1)], [], [_message(2), _message(3)], [_message(4)]])

    batch = _poller(sqs, FakeFunction(None), batch_size=3, window=2)._gather()

    assert [m["MessageId"] for m in batch] == ["m1", "m2", "m3"]


def test_only_the_records_a_partial_batch_response_does_not_name_are_deleted() -> None:
    sqs = FakeSqs([])
    function = FakeFunction({"batchItemFailures": [{"itemIdentifier": "m2"}]})

    _poller(sqs, function)._deliver([_message(1), _message(2), _message(3)])

    (event,) = function.events
    assert [r["messageId"] for r in event["Records"]] == ["m1", "m2", "m3"]
    assert event["Records"][0]["eventSource"] == "aws:sqs"
    assert sqs.deleted == ["r1", "r3"]
