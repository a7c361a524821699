"""What operators see of the worker: log lines that name their job, EMF metrics, the trace across the queue."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from jobline.core.context import JobContext
from jobline.core.job import Job
from jobline.core.registry import job_type
from jobline.core.retry import Backoff
from jobline.core.states import JobState
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline.telemetry import emf
from jobline.telemetry.observability import TRACE_HEADER_ENV, logger, trace_root
from jobline.tick import delayed
from jobline_dev.support import FakeClock, deliver, receive
from tests import jobtypes

Q = jobtypes.QUEUE
TRACE_HEADER = "Root=1-6745a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"


@job_type(Q, "test-chatty")
def chatty(payload: dict[str, Any], ctx: JobContext) -> None:
    # A job function logs with the shared logger and no extra keys of its own.
    logger.info("inside the job function")
    ctx.log("a line for the job's own log")


def lines(captured: str) -> list[dict[str, Any]]:
    """The JSON lines of captured stdout (Powertools logs and EMF)."""
    parsed = []
    for line in captured.splitlines():
        line = line.strip()
        if line.startswith("{"):
            parsed.append(json.loads(line))
    return parsed


def log_lines(captured: str) -> list[dict[str, Any]]:
    return [line for line in lines(captured) if "level" in line and "_aws" not in line]


def emf_lines(captured: str) -> list[dict[str, Any]]:
    return [line for line in lines(captured) if "_aws" in line]


def values(line: dict[str, Any], name: str) -> list[float]:
    """An EMF metric's values (Powertools writes a list, or a bare number for one value)."""
    value = line[name]
    return value if isinstance(value, list) else [value]


def add(runtime, name: str = "test-echo", *, tenant: str = "t-obs", **data: Any):
    options = JobOptions(attempts=data.pop("attempts", None), backoff=Backoff(type="fixed", delay=1))
    return enqueue(runtime, queue=Q, name=name, data=data, tenant_id=tenant, options=options).job


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The shared logger's JSON lines at INFO, as Lambda would ship them, written to a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    previous = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("INFO")
    yield buffer
    logger.setLevel(previous)
    logger.removeHandler(handler)


def test_every_worker_log_line_names_the_job_queue_and_tenant(runtime, json_logs) -> None:
    jobs = [add(runtime, "test-chatty"), add(runtime, value="x", fail_times=1, attempts=2), add(runtime, value="y")]
    json_logs.seek(0)
    json_logs.truncate()
    deliver(runtime, Worker(runtime), Q)
    logged = log_lines(json_logs.getvalue())

    by_job = {job.id: [line for line in logged if line.get("job_id") == job.id] for job in jobs}
    assert all(by_job.values()), f"a job wrote no log line: {logged}"
    assert len(logged) == sum(map(len, by_job.values())), "a worker log line names no job"
    for line in logged:
        assert line["queue"] == Q and line["tenant_id"] == "t-obs", line
    messages = {line["message"] for line in by_job[jobs[0].id]}
    assert {"inside the job function", "job completed"} <= messages
    assert any(line["message"] == "job attempt failed; retrying" for line in by_job[jobs[1].id])

    # The keys belong to the job: a line logged after the batch carries none of them.
    logger.info("after the batch")
    after = log_lines(json_logs.getvalue())
    assert after and not {"job_id", "queue", "tenant_id"} & set(after[-1]), after


def test_emf_metrics_count_attempts_by_queue_and_status(runtime, capsys) -> None:
    clock = FakeClock(runtime.clock())
    runtime.clock = clock
    add(runtime, value="ok")
    add(runtime, value="again", fail_times=1, attempts=2)
    add(runtime, "test-unrecoverable")
    capsys.readouterr()
    deliver(runtime, Worker(runtime), Q)
    emitted = emf_lines(capsys.readouterr().out)

    by_status = {line["Status"]: line for line in emitted}
    assert set(by_status) == {"completed", "retrying", "failed"}, emitted
    for status, line in by_status.items():
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Jobline"
        assert set(directive["Dimensions"][0]) == {"service", "Queue", "Status"}, directive
        assert line["Queue"] == Q
        names = {metric["Name"] for metric in directive["Metrics"]}
        assert {"JobsProcessed", "JobDuration", "JobWaitTime"} <= names, (status, names)
        assert values(line, "JobsProcessed") == [1.0]
    assert "JobAttempts" not in by_status["retrying"], "a retried attempt has not ended the job"
    assert values(by_status["completed"], "JobAttempts") == [1.0]
    assert values(by_status["failed"], "JobAttempts") == [1.0]

    # The retried job's second attempt waited for its backoff, and says so.
    clock.advance(2)
    capsys.readouterr()
    time.sleep(1.1)  # SQS hides the retried message for its 1 s backoff
    deliver(runtime, Worker(runtime), Q)
    (second,) = emf_lines(capsys.readouterr().out)
    assert second["Status"] == "completed" and values(second, "JobAttempts") == [2.0]
    # It waited for its backoff (the clock moved 2 s; the retry was due after 1 s).
    assert values(second, "JobWaitTime")[0] >= 1000


def test_many_jobs_of_one_status_make_one_emf_line(runtime, capsys) -> None:
    for index in range(7):
        add(runtime, value=str(index))
    capsys.readouterr()
    deliver(runtime, Worker(runtime), Q)
    (line,) = emf_lines(capsys.readouterr().out)
    assert values(line, "JobsProcessed") == [7.0]
    assert len(values(line, "JobDuration")) == 7


def test_the_enqueuing_requests_trace_travels_with_the_job(runtime, monkeypatch) -> None:
    monkeypatch.setenv(TRACE_HEADER_ENV, TRACE_HEADER)
    job = add(runtime, value="traced")
    monkeypatch.delenv(TRACE_HEADER_ENV)
    assert runtime.store.get(job.id).trace_id == TRACE_HEADER

    (message,) = receive(runtime, Q)
    assert message["Attributes"]["AWSTraceHeader"] == TRACE_HEADER
    assert json.loads(message["Body"])["trace_id"] == TRACE_HEADER


def test_a_delayed_job_released_later_keeps_its_trace(runtime, monkeypatch) -> None:
    clock = FakeClock(runtime.clock())
    runtime.clock = clock
    monkeypatch.setenv(TRACE_HEADER_ENV, TRACE_HEADER)
    job = enqueue(
        runtime,
        queue=Q,
        name="test-echo",
        data={"value": "later"},
        tenant_id="t-obs",
        options=JobOptions(delay=3_600_000),
    ).job
    # The tick that releases it runs in another invocation, with a trace of its own.
    monkeypatch.setenv(TRACE_HEADER_ENV, "Root=1-00000000-ffffffffffffffffffffffff;Sampled=1")
    clock.advance(3601)
    delayed.release_due_delayed(runtime, Q)
    (message,) = receive(runtime, Q)
    assert message["Attributes"]["AWSTraceHeader"] == TRACE_HEADER
    assert runtime.store.get(job.id).trace_id == TRACE_HEADER


def test_untraced_jobs_send_no_trace_header(runtime, monkeypatch) -> None:
    monkeypatch.delenv(TRACE_HEADER_ENV, raising=False)
    job = add(runtime, value="plain")
    assert runtime.store.get(job.id).trace_id is None
    (message,) = receive(runtime, Q)
    assert "AWSTraceHeader" not in message.get("Attributes", {})


@pytest.mark.parametrize(
    ("header", "root"),
    [
        (TRACE_HEADER, "1-6745a1b2-0123456789abcdef01234567"),
        ("Sampled=0; Root=1-abc-def", "1-abc-def"),
        ("Parent=53995c3f42cd8ad8", None),
        ("", None),
        (None, None),
    ],
)
def test_trace_root_reads_the_root_of_a_trace_header(header, root) -> None:
    assert trace_root(header) == root


def test_emf_splits_more_than_a_hundred_values_over_lines(capsys) -> None:
    start = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    recorder = emf.EmfRecorder()
    for index in range(250):
        job = Job(
            id=f"job-{index}",
            queue=Q,
            name="test-echo",
            tenant_id="t-obs",
            state=JobState.COMPLETED,
            attempts=1,
            created_at=start,
            started_at=start + dt.timedelta(milliseconds=5),
            finished_at=start + dt.timedelta(milliseconds=5 + index),
        )
        recorder.record(job, emf.EmfStatus.COMPLETED, job.finished_at)
    capsys.readouterr()
    recorder.flush()
    emitted = emf_lines(capsys.readouterr().out)
    assert len(emitted) == 3
    assert [values(line, "JobsProcessed") for line in emitted if "JobsProcessed" in line] == [[250.0]]
    durations = [value for line in emitted for value in values(line, "JobDuration")]
    assert sorted(durations) == [float(index) for index in range(250)]
    assert all(len(values(line, "JobWaitTime")) <= 100 for line in emitted)
    recorder.flush()
    assert emf_lines(capsys.readouterr().out) == [], "a flush forgets what it printed"


def test_emf_is_silent_when_powertools_metrics_are_disabled(runtime, capsys, monkeypatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    add(runtime, value="quiet")
    capsys.readouterr()
    deliver(runtime, Worker(runtime), Q)
    assert emf_lines(capsys.readouterr().out) == []
