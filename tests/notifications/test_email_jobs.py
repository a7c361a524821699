"""The send-email job through the worker, on moto's SES and SQS, with each job store."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from jobline.core.job import JobMessage
from jobline.core.states import JobState
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.outcomes import Outcome, RedeliverLater
from jobline.engine.worker import Worker
from jobline_dev.support import FakeClock, deliver, make_visible, receive, sqs_event
from tests.notifications.support import mail_to, refuse_email, sent_mail

Q = "email"
# The email queue's default priority (3, seed 002) sends its jobs down the priority lane.
LANE = "email-priority"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
TEAM = ["ann@example.com", "bob@example.com", "carol@example.com"]


def add_email(runtime: Any, recipients: list[str] | None = None, *, tenant: str = "t1", **options: Any):
    data = {"recipients": recipients or TEAM, "subject": "Release", "text": "v2 is out", "html": "<p>v2 is out</p>"}
    return enqueue(runtime, queue=Q, name="send-email", data=data, tenant_id=tenant, options=JobOptions(**options)).job


def run_once(runtime: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One delivery of the queue's messages; returns the batch response and the messages."""
    messages = receive(runtime, LANE)
    return Worker(runtime).handle_batch(sqs_event(runtime, LANE, messages)), messages


def by_recipient(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["recipient"]: r for r in result["results"]}


def test_send_email_job_delivers_to_each_recipient_and_reports_message_ids(runtime, ses) -> None:
    job = add_email(runtime)
    assert deliver(runtime, Worker(runtime), LANE) == {"batchItemFailures": []}
    done = runtime.store.get(job.id)
    assert done.state is JobState.COMPLETED
    assert (done.result["total"], done.result["successful"], done.result["failed"]) == (3, 3, 0)
    mail = sent_mail()
    assert sorted(address for m in mail for address in m.destinations["ToAddresses"]) == TEAM
    assert {m.source for m in mail} == {runtime.settings.jobline_email_sender}
    assert {(m.subject, m.body) for m in mail} == {("Release", "<p>v2 is out</p>")}
    results = by_recipient(done.result)
    for address in TEAM:
        [message] = mail_to(address)
        assert results[address] == {"recipient": address, "status": "sent", "messageId": message.id, "attempt": 1}


def test_send_email_template_fills_variables_and_escapes_them_in_html(memory_runtime, memory_ses) -> None:
    data = {
        "recipients": ["ann@example.com"],
        "template": "welcome",
        "variables": {"name": "<b>Ann</b>", "product": "Jobline"},
    }
    job = enqueue(memory_runtime, queue=Q, name="send-email", data=data, tenant_id="t1").job
    deliver(memory_runtime, Worker(memory_runtime), LANE)
    assert memory_runtime.store.get(job.id).state is JobState.COMPLETED
    [message] = mail_to("ann@example.com")
    assert message.subject == "Welcome to Jobline, <b>Ann</b>"
    assert "Hello &lt;b&gt;Ann&lt;/b&gt;," in message.body
    assert "<b>Jobline</b>" in message.body


def test_send_email_unverified_sender_is_retried_with_backoff_then_failed(runtime) -> None:
    clock = FakeClock(T0)
    runtime.clock = clock
    job = add_email(runtime)
    waits = []
    for _ in range(4):  # seed 002's email queue: 5 attempts, exponential backoff from 1 s
        response, messages = run_once(runtime)
        assert len(response["batchItemFailures"]) == 1
        retrying = runtime.store.get(job.id)
        assert retrying.state is JobState.WAITING
        waits.append((retrying.run_at - clock.now).total_seconds())
        make_visible(runtime, LANE, messages)
    assert waits == [1, 2, 4, 8]
    assert run_once(runtime)[0] == {"batchItemFailures": []}
    failed = runtime.store.get(job.id)
    assert (failed.state, failed.attempts) == (JobState.FAILED, 5)
    assert failed.error.startswith("Undelivered: no recipient could be reached")
    assert "not verified" in failed.error
    assert (failed.result["successful"], failed.result["failed"]) == (0, 3)
    assert all("not verified" in r["error"] for r in failed.result["results"])
    assert sent_mail() == []
    assert len(receive(runtime, Q, dlq=True)) == 1


def test_send_email_retry_after_partial_failure_sends_only_to_the_unreached(runtime, ses) -> None:
    provider = refuse_email(runtime, {"bob@example.com": 1})
    job = add_email(runtime)
    response, messages = run_once(runtime)
    assert len(response["batchItemFailures"]) == 1
    between = runtime.store.get(job.id)
    assert between.state is JobState.WAITING
    assert "1 of 3 recipients not reached yet" in between.error
    first = by_recipient(between.result)
    assert [first[a]["status"] for a in TEAM] == ["sent", "failed", "sent"]

    make_visible(runtime, LANE, messages)
    assert run_once(runtime)[0] == {"batchItemFailures": []}
    done = runtime.store.get(job.id)
    assert done.state is JobState.COMPLETED
    assert (done.result["successful"], done.result["failed"]) == (3, 0)
    assert provider.calls == [*TEAM, "bob@example.com"]
    assert all(len(mail_to(address)) == 1 for address in TEAM)
    final = by_recipient(done.result)
    assert final["ann@example.com"] == first["ann@example.com"]  # same messageId, from attempt 1
    assert final["carol@example.com"] == first["carol@example.com"]
    assert (final["bob@example.com"]["attempt"], final["bob@example.com"]["messageId"]) == (
        2,
        mail_to("bob@example.com")[0].id,
    )
    assert any("2 recipients already have it; sending to 1" in line for line in done.logs)


def test_send_email_last_attempt_with_some_failures_completes_with_failed_count(memory_runtime, memory_ses) -> None:
    refuse_email(memory_runtime, {"bob@example.com": 99})
    job = add_email(memory_runtime, attempts=1)
    assert deliver(memory_runtime, Worker(memory_runtime), LANE) == {"batchItemFailures": []}
    done = memory_runtime.store.get(job.id)
    assert done.state is JobState.COMPLETED
    assert (done.result["total"], done.result["successful"], done.result["failed"]) == (3, 2, 1)
    bob = by_recipient(done.result)["bob@example.com"]
    assert bob["status"] == "failed"
    assert "Maximum sending rate exceeded" in bob["error"]
    assert "messageId" not in bob


def test_send_email_progress_is_recorded_as_recipients_are_done(memory_runtime, memory_ses) -> None:
    recipients = [f"user{i}@example.com" for i in range(25)]
    job = add_email(memory_runtime, recipients)
    seen: list[int] = []

    def look(params: dict[str, Any], **kwargs: Any) -> None:
        seen.append(memory_runtime.store.get(job.id).progress)

    memory_runtime.client("ses").meta.events.register("provide-client-params.ses.SendEmail", look)
    deliver(memory_runtime, Worker(memory_runtime), LANE)
    assert seen == sorted(seen)
    assert {40, 80} <= set(seen)  # recorded after the 10th and the 20th send
    assert memory_runtime.store.get(job.id).progress == 100


def test_send_email_attempt_timed_out_mid_campaign_resumes_with_the_unsent_recipients(
    memory_runtime, memory_ses
) -> None:
    clock = FakeClock(T0)
    memory_runtime.clock = clock
    recipients = [f"user{i}@example.com" for i in range(5)]
    calls: list[str] = []

    def slow_third_send(params: dict[str, Any], **kwargs: Any) -> None:
        calls.append(params["Destination"]["ToAddresses"][0])
        if len(calls) == 3:
            time.sleep(3)  # the attempt's 1 s timeout interrupts this send before it reaches SES

    memory_runtime.client("ses").meta.events.register("provide-client-params.ses.SendEmail", slow_third_send)
    job = add_email(memory_runtime, recipients, timeout=1_000)
    body = JobMessage(job_id=job.id, queue=Q, dispatch=job.dispatch).model_dump_json()
    try:
        Worker(memory_runtime).process(body)
        raise AssertionError("the attempt should have timed out")
    except RedeliverLater as later:
        assert later.outcome is Outcome.RETRYING
    interrupted = memory_runtime.store.get(job.id)
    assert interrupted.error.startswith("JobTimeout")
    assert interrupted.result["successful"] == 2  # recorded on the way out of the timed-out attempt

    clock.advance(5)
    assert Worker(memory_runtime).process(body) == Outcome.COMPLETED
    done = memory_runtime.store.get(job.id)
    assert (done.result["successful"], done.attempts) == (5, 2)
    assert calls == [*recipients[:3], *recipients[2:]]
    assert all(len(mail_to(address)) == 1 for address in recipients)


def test_email_queue_rate_limit_holds_jobs_over_50_a_minute_without_spending_attempts(
    memory_runtime, memory_ses
) -> None:
    clock = FakeClock(T0)
    memory_runtime.clock = clock
    jobs = [add_email(memory_runtime, [f"user{i}@example.com"]) for i in range(51)]
    for _ in range(20):
        if deliver(memory_runtime, Worker(memory_runtime), LANE) is None:
            break
    states = [memory_runtime.store.get(j.id) for j in jobs]
    assert sum(j.state is JobState.COMPLETED for j in states) == 50
    [held] = [j for j in states if j.state is not JobState.COMPLETED]
    assert (held.state, held.attempts) == (JobState.WAITING, 0)
    assert len(sent_mail()) == 50

    clock.advance(60)  # the next window: the re-queued message's delay has passed
    body = JobMessage(job_id=held.id, queue=Q, dispatch=held.dispatch).model_dump_json()
    assert Worker(memory_runtime).process(body) == Outcome.COMPLETED
    assert memory_runtime.store.get(held.id).attempts == 1
    assert len(sent_mail()) == 51
