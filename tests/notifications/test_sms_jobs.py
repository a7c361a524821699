"""The send-sms job through the worker, on moto's SNS and SQS, with each job store."""

from __future__ import annotations

from typing import Any

import pytest

from jobline.core.errors import JobNotFound
from jobline.core.retry import Backoff
from jobline.core.states import JobState
from jobline.engine import operations
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline_dev.support import deliver, make_visible, receive, sqs_event
from tests.notifications.support import refuse_sms, sent_sms

Q = "sms"
PHONES = ["+14155550100", "+442071838750", "+61291234567"]


def add_sms(runtime: Any, recipients: list[str] | None = None, **options: Any):
    data = {"recipients": recipients or PHONES, "message": "Your table is ready"}
    return enqueue(runtime, queue=Q, name="send-sms", data=data, tenant_id="t1", options=JobOptions(**options)).job


def test_send_sms_job_texts_each_number_and_reports_message_ids(runtime) -> None:
    job = add_sms(runtime)
    assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
    done = runtime.store.get(job.id)
    assert done.state is JobState.COMPLETED
    assert (done.result["channel"], done.result["total"], done.result["successful"]) == ("sms", 3, 3)
    assert sorted(sent_sms()) == sorted((phone, "Your table is ready") for phone in PHONES)
    assert [r["recipient"] for r in done.result["results"]] == PHONES
    assert all(r["status"] == "sent" and r["messageId"] for r in done.result["results"])


def test_send_sms_normalises_and_deduplicates_numbers_at_enqueue(memory_runtime) -> None:
    job = add_sms(memory_runtime, ["+1 (415) 555-0100", "+14155550100", "+44 20 7183 8750"])
    assert job.data["phoneNumbers"] == ["+14155550100", "+442071838750"], "kept in the seed's spelling"
    deliver(memory_runtime, Worker(memory_runtime), Q)
    assert sorted(phone for phone, _ in sent_sms()) == ["+14155550100", "+442071838750"]


def test_send_sms_retry_after_partial_failure_texts_only_the_unreached(runtime) -> None:
    provider = refuse_sms(runtime, {PHONES[1]: 2})
    job = add_sms(runtime, backoff=Backoff(type="fixed", delay=0))
    for _ in range(2):
        messages = receive(runtime, Q)
        response = Worker(runtime).handle_batch(sqs_event(runtime, Q, messages))
        assert len(response["batchItemFailures"]) == 1
        make_visible(runtime, Q, messages)
    assert deliver(runtime, Worker(runtime), Q) == {"batchItemFailures": []}
    done = runtime.store.get(job.id)
    assert (done.state, done.attempts, done.result["successful"]) == (JobState.COMPLETED, 3, 3)
    assert provider.calls == [*PHONES, PHONES[1], PHONES[1]]
    assert sorted(phone for phone, _ in sent_sms()) == sorted(PHONES)


def test_send_sms_every_number_refused_on_every_attempt_fails_the_job(memory_runtime) -> None:
    refuse_sms(memory_runtime, dict.fromkeys(PHONES, 99))
    job = add_sms(memory_runtime, attempts=2, backoff=Backoff(type="fixed", delay=0))
    assert len(deliver(memory_runtime, Worker(memory_runtime), Q)["batchItemFailures"]) == 1
    assert deliver(memory_runtime, Worker(memory_runtime), Q) == {"batchItemFailures": []}
    failed = memory_runtime.store.get(job.id)
    assert (failed.state, failed.attempts) == (JobState.FAILED, 2)
    assert failed.result["failed"] == 3
    assert sent_sms() == []


def test_send_sms_sub_account_in_the_payload_is_a_label_never_the_tenant(memory_runtime) -> None:
    data = {"subAccountId": "someone-else", "phoneNumbers": [PHONES[0]], "message": "hi", "campaignId": "c-1"}
    job = enqueue(memory_runtime, queue=Q, name="send-sms", data=data, tenant_id="t1").job
    assert (job.tenant_id, job.data["subAccountId"], job.data["campaignId"]) == ("t1", "someone-else", "c-1")
    with pytest.raises(JobNotFound):
        operations.get_job(memory_runtime, job.id, tenant_id="someone-else")
    deliver(memory_runtime, Worker(memory_runtime), Q)
    assert memory_runtime.store.get(job.id).state is JobState.COMPLETED
    assert memory_runtime.store.counts(Q, tenant_id="t1")[JobState.COMPLETED] == 1
    assert memory_runtime.store.counts(Q, tenant_id="someone-else")[JobState.COMPLETED] == 0
