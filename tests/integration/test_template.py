"""template.yaml against the queue registry and the job store: both must describe one system.

The registry (`jobline.core.queues`) is what the code believes; the template is what AWS gets.
Every queue, DLQ, event source, timeout and queue permission is checked from the registry's
side, and nothing in the template may exist that the registry does not know.
"""

from __future__ import annotations

import functools
import pathlib
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from jobline.core import queues
from jobline.engine.enqueue import MAX_DELAY
from jobline.store import dynamodb

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

QUEUE_PARAMS = [pytest.param(q, id=q.name) for q in queues.QUEUES.values()]
LANES = [q for q in queues.QUEUES.values() if q.priority_lane]
LANE_PARAMS = [pytest.param(q, id=q.name) for q in LANES]
WORKER_PARAMS = [pytest.param(w, id=w.name) for w in queues.WORKER_FUNCTIONS.values()]

# What a SAM policy template grants on the queue it names (its QueueName parameter).
SQS_TEMPLATE_ACTIONS = {
    "SQSSendMessagePolicy": {"sqs:SendMessage"},
    "SQSPollerPolicy": {
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    },
}
POLLER = SQS_TEMPLATE_ACTIONS["SQSPollerPolicy"]


@functools.cache
def template() -> dict[str, Any]:
    # cfn-lint's loader turns the short tags (!Ref, !Sub, !GetAtt ...) into their long forms.
    return cfn_yaml.loads(TEMPLATE.read_text(), str(TEMPLATE))


def resources() -> dict[str, Any]:
    return template()["Resources"]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in resources().items() if res["Type"] == kind}


def props(logical_id: str) -> dict[str, Any]:
    return resources()[logical_id]["Properties"]


def stack_named(suffix: str) -> dict[str, str]:
    return {"Fn::Sub": f"${{AWS::StackName}}-{suffix}"}


def get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def sqs_events(function_id: str) -> list[dict[str, Any]]:
    events = props(function_id).get("Events", {})
    return [e["Properties"] for e in events.values() if e["Type"] == "SQS"]


def iam_statements() -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement written in the template, with the resource that holds it."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(owner: str, node: Any) -> None:
        if isinstance(node, dict):
            if "Statement" in node:
                found.extend((owner, s) for s in as_list(node["Statement"]))
            for value in node.values():
                walk(owner, value)
        elif isinstance(node, list):
            for value in node:
                walk(owner, value)

    for name, res in resources().items():
        walk(name, res.get("Properties", {}))
    return found


def sqs_grants(function_id: str) -> set[tuple[str, str]]:
    """(action, queue logical id) pairs a function's policies allow, by template or statement."""
    grants: set[tuple[str, str]] = set()
    for policy in props(function_id).get("Policies", []):
        for template_name, actions in SQS_TEMPLATE_ACTIONS.items():
            if isinstance(policy, dict) and template_name in policy:
                queue = policy[template_name]["QueueName"]["Fn::GetAtt"][0]
                grants |= {(action, queue) for action in actions}
        if isinstance(policy, dict) and "Statement" in policy:
            for statement in as_list(policy["Statement"]):
                if statement.get("Effect") != "Allow":
                    continue
                targets = [
                    r["Fn::GetAtt"][0]
                    for r in as_list(statement.get("Resource", []))  # NotResource (SMS) names no queue
                    if isinstance(r, dict) and "Fn::GetAtt" in r and r["Fn::GetAtt"][1] == "Arn"
                ]
                grants |= {(a, t) for a in as_list(statement["Action"]) for t in targets if a.startswith("sqs:")}
    return grants


# ---------------------------------------------------------------- queues and DLQs


@pytest.mark.parametrize("queue", QUEUE_PARAMS)
def test_template_queue_and_dlq_exist_with_registry_names(queue: queues.QueueSettings) -> None:
    sqs = of_type("AWS::SQS::Queue")
    assert queue.logical_id in sqs
    assert f"{queue.logical_id}DLQ" in sqs
    assert props(queue.logical_id)["QueueName"] == stack_named(queue.sqs_name_suffix)
    assert props(f"{queue.logical_id}DLQ")["QueueName"] == stack_named(queue.dlq_name_suffix)


def test_template_queue_prefix_env_matches_queue_names() -> None:
    env = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert env["JOBLINE_QUEUE_PREFIX"] == {"Fn::Sub": "${AWS::StackName}-"}


@pytest.mark.parametrize("queue", QUEUE_PARAMS)
def test_template_queue_redrives_to_its_dlq_after_max_receive_count(queue: queues.QueueSettings) -> None:
    redrive = props(queue.logical_id)["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == get_att(f"{queue.logical_id}DLQ", "Arn")
    assert redrive["maxReceiveCount"] == queue.max_receive_count
    assert queue.max_receive_count > queue.attempts  # SQS must not dead-letter a job with attempts left


@pytest.mark.parametrize("queue", QUEUE_PARAMS)
def test_template_queue_visibility_timeout_covers_six_consumer_timeouts(queue: queues.QueueSettings) -> None:
    visibility = props(queue.logical_id)["VisibilityTimeout"]
    function_timeout = props(queue.consumer.logical_id)["Timeout"]
    assert visibility == queue.visibility_timeout_seconds
    assert visibility >= queues.VISIBILITY_TIMEOUT_FACTOR * function_timeout


@pytest.mark.parametrize("queue", QUEUE_PARAMS)
def test_template_queue_pair_is_encrypted_and_dlq_keeps_fourteen_days(queue: queues.QueueSettings) -> None:
    assert props(queue.logical_id)["SqsManagedSseEnabled"] is True
    dlq = props(f"{queue.logical_id}DLQ")
    assert dlq["SqsManagedSseEnabled"] is True
    assert dlq["MessageRetentionPeriod"] == queues.DLQ_RETENTION_SECONDS
    assert "RedrivePolicy" not in dlq  # a DLQ is the end of the line


def test_template_has_no_sqs_queue_unknown_to_registry() -> None:
    expected = {q.logical_id for q in queues.QUEUES.values()} | {f"{q.logical_id}DLQ" for q in queues.QUEUES.values()}
    expected |= {q.lane_logical_id for q in LANES}
    assert set(of_type("AWS::SQS::Queue")) == expected


@pytest.mark.parametrize("queue", LANE_PARAMS)
def test_template_priority_lane_redrives_to_the_queues_dlq_and_is_read_by_the_same_consumer(
    queue: queues.QueueSettings,
) -> None:
    lane = props(queue.lane_logical_id)
    assert lane["QueueName"] == stack_named(queue.lane_name_suffix)
    assert lane["VisibilityTimeout"] == queue.visibility_timeout_seconds
    assert lane["RedrivePolicy"] == {
        "deadLetterTargetArn": get_att(f"{queue.logical_id}DLQ", "Arn"),
        "maxReceiveCount": queue.max_receive_count,
    }
    events = [e for e in sqs_events(queue.consumer.logical_id) if e["Queue"] == get_att(queue.lane_logical_id, "Arn")]
    assert len(events) == 1
    assert events[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert events[0]["BatchSize"] == queue.batch_size
    assert events[0]["ScalingConfig"]["MaximumConcurrency"] == queue.lane_concurrency
    grants = sqs_grants(queue.consumer.logical_id)
    assert {(a, queue.lane_logical_id) for a in POLLER | {"sqs:SendMessage", "sqs:GetQueueUrl"}} <= grants
    assert {("sqs:SendMessage", queue.lane_logical_id), ("sqs:GetQueueAttributes", queue.lane_logical_id)} <= (
        sqs_grants("ApiFunction")
    )
    assert ("sqs:SendMessage", queue.lane_logical_id) in sqs_grants("CleanupFunction")


@pytest.mark.parametrize("queue", QUEUE_PARAMS)
def test_template_queue_url_is_an_output(queue: queues.QueueSettings) -> None:
    outputs = template()["Outputs"]
    assert {"Ref": queue.logical_id} in [o["Value"] for o in outputs.values()]


# ---------------------------------------------------------------- consumers


@pytest.mark.parametrize("queue", QUEUE_PARAMS)
def test_template_consumer_reads_queue_with_registry_batching_and_partial_failures(queue: queues.QueueSettings) -> None:
    events = [e for e in sqs_events(queue.consumer.logical_id) if e["Queue"] == get_att(queue.logical_id, "Arn")]
    assert len(events) == 1
    (event,) = events
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["BatchSize"] == queue.batch_size
    assert event.get("MaximumBatchingWindowInSeconds", 0) == queue.batching_window_seconds
    assert event["ScalingConfig"]["MaximumConcurrency"] == queue.concurrency


def test_template_sqs_events_only_on_registry_consumers() -> None:
    consumed = []
    for function_id in of_type("AWS::Serverless::Function"):
        for event in sqs_events(function_id):
            queue_id = event["Queue"]["Fn::GetAtt"][0]
            consumed.append(queue_id)
            owner = next(q for q in queues.QUEUES.values() if queue_id in (q.logical_id, q.lane_logical_id))
            assert owner.consumer.logical_id == function_id
    expected = [q.logical_id for q in queues.QUEUES.values()] + [q.lane_logical_id for q in LANES]
    assert sorted(consumed) == sorted(expected)


@pytest.mark.parametrize("worker", WORKER_PARAMS)
def test_template_worker_function_matches_registry(worker: queues.WorkerFunction) -> None:
    function = props(worker.logical_id)
    assert resources()[worker.logical_id]["Type"] == "AWS::Serverless::Function"
    assert function["CodeUri"].rstrip("/") == f"functions/{worker.name}"
    assert function["Timeout"] == worker.timeout_seconds
    assert function["MemorySize"] == worker.memory_mb


def test_template_functions_are_registry_workers_api_authorizer_and_cleanup() -> None:
    # AuthorizerFunction: the HTTP API's Lambda authorizer (tests/integration/test_gateway_authorizer.py).
    expected = {w.logical_id for w in queues.WORKER_FUNCTIONS.values()} | {
        "ApiFunction",
        "AuthorizerFunction",
        "CleanupFunction",
    }
    assert set(of_type("AWS::Serverless::Function")) == expected


def test_template_every_function_folder_has_a_handler_module() -> None:
    for function_id, function in of_type("AWS::Serverless::Function").items():
        assert (ROOT / function["Properties"]["CodeUri"] / "app.py").is_file(), function_id


def test_template_cleanup_runs_tick_every_minute_and_nightly_sweep() -> None:
    events = props("CleanupFunction")["Events"].values()
    schedules = {e["Properties"]["Schedule"]: e["Properties"]["Input"] for e in events if e["Type"] == "Schedule"}
    assert schedules == {
        "rate(1 minute)": '{"task": "tick"}',
        "cron(0 2 * * ? *)": '{"task": "nightly"}',
    }


def test_template_api_routes_cover_api_v1_the_seeds_unversioned_paths_and_admin() -> None:
    events = props("ApiFunction")["Events"].values()
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events if e["Type"] == "HttpApi"}
    assert routes == {
        ("ANY", "/api/v1/{proxy+}"),
        ("GET", "/api/v1/health"),
        ("ANY", "/api/jobs/{proxy+}"),
        ("GET", "/metrics"),
        ("ANY", "/admin"),
        ("ANY", "/admin/{proxy+}"),
        # The public routes, each its own event so it can skip the gateway's authorizer.
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/swagger"),
        ("POST", "/api/v1/waitlist/offers/accept"),
        ("POST", "/api/v1/waitlist/offers/decline"),
        ("GET", "/admin"),
        ("GET", "/admin/jobs"),
    }


# ---------------------------------------------------------------- queue permissions


@pytest.mark.parametrize("queue", QUEUE_PARAMS)
def test_template_consumer_may_poll_requeue_and_dead_letter_its_queue(queue: queues.QueueSettings) -> None:
    grants = sqs_grants(queue.consumer.logical_id)
    dlq = f"{queue.logical_id}DLQ"
    needed = {(a, queue.logical_id) for a in POLLER | {"sqs:SendMessage", "sqs:GetQueueUrl"}}
    needed |= {("sqs:SendMessage", dlq), ("sqs:GetQueueUrl", dlq)}
    assert needed <= grants


@pytest.mark.parametrize("queue", QUEUE_PARAMS)
def test_template_api_may_enqueue_read_depths_and_purge_dlq(queue: queues.QueueSettings) -> None:
    grants = sqs_grants("ApiFunction")
    dlq = f"{queue.logical_id}DLQ"
    needed = {(a, q) for a in ("sqs:GetQueueAttributes", "sqs:GetQueueUrl") for q in (queue.logical_id, dlq)}
    needed |= {("sqs:SendMessage", queue.logical_id), ("sqs:PurgeQueue", dlq)}
    assert needed <= grants


@pytest.mark.parametrize("queue", QUEUE_PARAMS)
def test_template_cleanup_may_release_delayed_jobs_and_reconcile_dead_letters(queue: queues.QueueSettings) -> None:
    grants = sqs_grants("CleanupFunction")
    dlq = f"{queue.logical_id}DLQ"
    needed = {("sqs:SendMessage", queue.logical_id), ("sqs:GetQueueUrl", queue.logical_id)}
    needed |= {(a, dlq) for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage", "sqs:GetQueueUrl")}
    assert needed <= grants


def test_template_api_may_pause_and_resume_event_source_mappings() -> None:
    # The updates are granted by a managed policy attached to the API function's role.
    assert props("QueuePauseResumePolicy")["Roles"] == [{"Ref": "ApiFunctionRole"}]
    actions = {
        a
        for owner, s in iam_statements()
        if owner in {"ApiFunction", "QueuePauseResumePolicy"}
        for a in as_list(s["Action"])
    }
    assert {"lambda:ListEventSourceMappings", "lambda:UpdateEventSourceMapping"} <= actions


# ---------------------------------------------------------------- IAM hygiene


def test_template_iam_statements_have_no_wildcard_actions() -> None:
    statements = iam_statements()
    assert statements  # the walk found the inline statements
    for owner, statement in statements:
        assert "NotAction" not in statement, owner
        if statement.get("Effect") == "Deny":
            continue  # a deny of every action (non-TLS access to the bucket) only takes rights away
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), f"{owner}: {action}"


def test_template_function_policies_are_templates_or_statements_not_managed_policies() -> None:
    for function_id, function in of_type("AWS::Serverless::Function").items():
        for policy in function["Properties"].get("Policies", []):
            # A bare string is an AWS managed policy, which grants far more than one function needs.
            assert isinstance(policy, dict), f"{function_id}: {policy}"


# ---------------------------------------------------------------- the job table


def test_template_job_table_matches_dynamodb_store_schema() -> None:
    table = props("JobsTable")

    def by_name(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
        return {item[key]: item for item in items}

    assert table["BillingMode"] == dynamodb.BILLING_MODE
    assert table["KeySchema"] == dynamodb.KEY_SCHEMA
    assert by_name(table["AttributeDefinitions"], "AttributeName") == by_name(
        dynamodb.ATTRIBUTE_DEFINITIONS, "AttributeName"
    )
    assert by_name(table["GlobalSecondaryIndexes"], "IndexName") == by_name(
        dynamodb.GLOBAL_SECONDARY_INDEXES, "IndexName"
    )
    assert {dynamodb.QUEUE_STATE_INDEX, dynamodb.TENANT_QUEUE_STATE_INDEX} == {
        index["IndexName"] for index in table["GlobalSecondaryIndexes"]
    }


def test_template_job_table_expires_items_by_store_ttl_attribute() -> None:
    ttl = props("JobsTable")["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": dynamodb.TTL_ATTRIBUTE, "Enabled": True}


def test_template_job_table_has_point_in_time_recovery_and_encryption() -> None:
    table = props("JobsTable")
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_template_bucket_blocks_public_access_and_expires_payloads_and_exports() -> None:
    bucket = props("JobsBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert "BucketEncryption" in bucket
    expiry = {r["Prefix"]: r["ExpirationInDays"] for r in bucket["LifecycleConfiguration"]["Rules"] if "Prefix" in r}
    # Payloads outlive the longest delay a job may have (MAX_DELAY); exports are short-lived links.
    assert expiry["payloads/"] * 86400 > MAX_DELAY.total_seconds()
    assert expiry["exports/"] == 7
    assert expiry["uploads/"] == expiry["reports/"] == 7


@pytest.mark.parametrize("worker", WORKER_PARAMS)
def test_every_worker_may_queue_callbacks_on_the_webhooks_queue(worker: queues.WorkerFunction) -> None:
    """A job of any queue may carry a callback URL; its worker enqueues the callback job."""
    webhooks = queues.get_queue("webhooks").logical_id
    grants = sqs_grants(worker.logical_id)
    assert ("sqs:SendMessage", webhooks) in grants
    assert ("sqs:GetQueueUrl", webhooks) in grants


def test_waitlist_worker_may_queue_offer_notifications() -> None:
    """The cascade (waitlist worker) enqueues the notifier's offer notifications."""
    grants = sqs_grants(queues.get_queue("waitlist-cascade").consumer.logical_id)
    target = queues.get_queue("waitlist-notifications").logical_id
    assert {("sqs:SendMessage", target), ("sqs:GetQueueUrl", target)} <= grants


def test_task_worker_may_queue_email_and_sms_jobs() -> None:
    """The sendNotification task enqueues e-mail and SMS jobs, on their lanes too."""
    grants = sqs_grants(queues.get_queue("generic-task").consumer.logical_id)
    for name in ("email", "sms"):
        queue = queues.get_queue(name)
        for target in (queue.logical_id, queue.lane_logical_id):
            assert {("sqs:SendMessage", target), ("sqs:GetQueueUrl", target)} <= grants


def test_template_task_worker_gets_the_ai_and_sitemap_settings_and_room_for_excel_spools() -> None:
    task_worker = props("TaskWorkerFunction")
    variables = task_worker["Environment"]["Variables"]
    assert variables["JOBLINE_BEDROCK_MODEL_ID"] == {"Ref": "BedrockModelId"}
    assert variables["JOBLINE_SITE_URL"] == {"Ref": "SiteUrl"}
    assert {"BedrockModelId", "SiteUrl"} <= set(template()["Parameters"])
    assert task_worker["EphemeralStorage"]["Size"] >= 2048


def test_template_api_may_send_email_itself_for_the_sync_fallback() -> None:
    # The email queue's sync_fallback runs its jobs in the API's request when the queue is down.
    from jobline.core.queues import get_queue

    assert get_queue("email").sync_fallback
    actions = {
        action
        for owner, statement in iam_statements()
        if owner == "ApiFunction"
        for action in as_list(statement["Action"])
    }
    assert {"ses:SendEmail", "ses:SendRawEmail"} <= actions


def test_template_bucket_refuses_every_request_without_tls() -> None:
    [policy] = [
        p for p in of_type("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": "JobsBucket"}
    ]
    [statement] = as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": ["JobsBucket", "Arn"]} in statement["Resource"]
    assert {"Fn::Sub": "${JobsBucket.Arn}/*"} in statement["Resource"]
