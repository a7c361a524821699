"""template.yaml's alarms and dashboard against the registry: every queue and function is watched.

The alarms notify the SNS topic; the dashboard draws every SQS queue, DLQ and function and
the EMF job metrics that `jobline.telemetry.emf.EmfRecorder` publishes, by the dimensions it uses.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from jobline.core import queues
from tests.integration.test_template import QUEUE_PARAMS, WORKER_PARAMS, of_type, props, resources

FUNCTIONS = sorted(of_type("AWS::Serverless::Function"))
SQS_QUEUES = [
    pytest.param(q, logical_id, id=logical_id)
    for q in queues.QUEUES.values()
    for logical_id in ((q.logical_id, q.lane_logical_id) if q.priority_lane else (q.logical_id,))
]


def alarms() -> dict[str, dict[str, Any]]:
    return {name: res["Properties"] for name, res in of_type("AWS::CloudWatch::Alarm").items()}


def alarms_on(metric: str, dimension_value: Any) -> list[dict[str, Any]]:
    return [
        alarm
        for alarm in alarms().values()
        if alarm.get("MetricName") == metric and {"Name": "QueueName", "Value": dimension_value} in alarm["Dimensions"]
    ]


def dashboard() -> dict[str, Any]:
    """The dashboard body as CloudWatch gets it, `${Resource.Attr}` left as the names it stands for."""
    body = props("Dashboard")["DashboardBody"]["Fn::Sub"]
    return json.loads(body)


def widget(title: str) -> list[list[str]]:
    (found,) = [w["properties"] for w in dashboard()["widgets"] if w["properties"]["title"] == title]
    return [list(metric) for metric in found["metrics"]]


def test_every_alarm_notifies_the_alarm_topic() -> None:
    assert alarms()
    for name, alarm in alarms().items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
    assert resources()["AlarmTopic"]["Type"] == "AWS::SNS::Topic"


@pytest.mark.parametrize("queue", QUEUE_PARAMS)
def test_any_message_in_a_dlq_raises_an_alarm(queue: queues.QueueSettings) -> None:
    dlq_name = {"Fn::GetAtt": [f"{queue.logical_id}DLQ", "QueueName"]}
    (alarm,) = alarms_on("ApproximateNumberOfMessagesVisible", dlq_name)
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


@pytest.mark.parametrize(("queue", "logical_id"), SQS_QUEUES)
def test_an_old_oldest_message_raises_the_queues_own_alarm(queue: queues.QueueSettings, logical_id: str) -> None:
    (alarm,) = alarms_on("ApproximateAgeOfOldestMessage", {"Fn::GetAtt": [logical_id, "QueueName"]})
    assert alarm["Threshold"] == queue.oldest_message_alarm_seconds
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert str(queue.oldest_message_alarm_seconds) in alarm["AlarmDescription"]["Fn::Sub"]


def test_the_oldest_message_threshold_outlasts_a_healthy_message() -> None:
    for queue in queues.QUEUES.values():
        retries = sum(queue.backoff.delay_after(made) for made in range(1, queue.attempts))
        healthy = queues.SQS_MAX_DELAY_SECONDS + queue.attempts * queue.job_timeout_seconds + retries
        assert queue.oldest_message_alarm_seconds > healthy, queue.name


@pytest.mark.parametrize("worker", WORKER_PARAMS)
def test_a_worker_error_rate_over_five_percent_raises_an_alarm(worker: queues.WorkerFunction) -> None:
    alarm = alarms()[f"{worker.logical_id}ErrorRateAlarm"]
    stats = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    (expression,) = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert set(stats) == {"errors", "invocations"}
    assert re.search(r"errors\s*/\s*invocations", expression["Expression"])
    for metric_id, metric_name in (("errors", "Errors"), ("invocations", "Invocations")):
        metric = stats[metric_id]["Metric"]
        assert metric["Namespace"] == "AWS/Lambda" and metric["MetricName"] == metric_name
        assert metric["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": worker.logical_id}}]
    assert alarm["Threshold"] == 5 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize(
    ("title", "metric"),
    [
        ("Messages waiting (queue depth)", "ApproximateNumberOfMessagesVisible"),
        ("Oldest message age (s)", "ApproximateAgeOfOldestMessage"),
    ],
)
def test_dashboard_draws_every_sqs_queue(title: str, metric: str) -> None:
    drawn = widget(title)
    expected = [["AWS/SQS", metric, "QueueName", f"${{{logical_id}.QueueName}}"] for _, logical_id in _queue_ids()]
    assert sorted(drawn) == sorted(expected)


def _queue_ids() -> list[tuple[queues.QueueSettings, str]]:
    return [tuple(param.values) for param in SQS_QUEUES]  # type: ignore[misc]


def test_dashboard_draws_every_dlq() -> None:
    expected = [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"${{{q.logical_id}DLQ.QueueName}}"]
        for q in queues.QUEUES.values()
    ]
    assert sorted(widget("Dead-letter queue depth")) == sorted(expected)


@pytest.mark.parametrize(
    ("title", "metric", "status"),
    [
        ("Jobs completed", "JobsProcessed", "completed"),
        ("Jobs failed (out of attempts)", "JobsProcessed", "failed"),
        ("Attempts retried", "JobsProcessed", "retrying"),
        ("Job duration p95 (ms)", "JobDuration", "completed"),
        ("Time waiting in the queue p95 (ms)", "JobWaitTime", "completed"),
    ],
)
def test_dashboard_draws_the_emf_job_metrics_of_every_queue(title: str, metric: str, status: str) -> None:
    # The dimensions EmfRecorder publishes: service, Queue and Status (tests/integration/test_observability.py).
    expected = [
        ["Jobline", metric, "service", "jobline", "Queue", q.name, "Status", status] for q in queues.QUEUES.values()
    ]
    assert sorted(widget(title)) == sorted(expected)


@pytest.mark.parametrize(
    ("title", "metric"),
    [("Lambda errors", "Errors"), ("Lambda throttles", "Throttles"), ("Lambda duration p95 (ms)", "Duration")],
)
def test_dashboard_draws_every_function(title: str, metric: str) -> None:
    expected = [["AWS/Lambda", metric, "FunctionName", f"${{{name}}}"] for name in FUNCTIONS]
    assert sorted(widget(title)) == sorted(expected)


def test_dashboard_widgets_do_not_overlap() -> None:
    cells = set()
    for w in dashboard()["widgets"]:
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, w["properties"]["title"]
                cells.add((x, y))
