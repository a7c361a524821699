"""Lambda's SQS event source mapping, locally: poll a queue, hand batches to the function, delete what succeeded.

Timeline of one batch, as Lambda runs it:

    paused? ─▶ wait, receive nothing (no receive spent, like a disabled mapping)
    receive (long poll) ─▶ more until BatchSize or the batching window ends
        ─▶ invoke ─▶ returned: delete every record but the reported batchItemFailures
                  └▶ raised or answered nonsense: delete nothing
    records not deleted come back when their visibility timeout ends (the worker sets it
    for a backoff); SQS (moto) moves one received maxReceiveCount times to its DLQ.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from jobline_dev.local.console import LOGGER
from jobline_dev.local.functions import LocalFunction
from jobline_dev.local.spec import SqsSource

log = logging.getLogger(LOGGER)

SQS_MAX_MESSAGES = 10  # per ReceiveMessage call
PAUSED_RECHECK_SECONDS = 0.5
ERROR_BACKOFF_SECONDS = 1.0


def lambda_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One received SQS message as a record of Lambda's SQS event."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(value["BinaryValue"]).decode() if "BinaryValue" in value else None,
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": [base64.b64encode(v).decode() for v in value.get("BinaryListValues", [])],
            "dataType": value["DataType"],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: str(v) for k, v in message.get("Attributes", {}).items()},
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_ids(result: Any, batch_ids: set[str]) -> set[str]:
    """The message ids a partial batch response reports; the whole batch when the response is invalid."""
    if result is None:
        return set()
    if not isinstance(result, dict):
        return set(batch_ids)
    failures = result.get("batchItemFailures") or []
    if not isinstance(failures, list):
        return set(batch_ids)
    ids = {str(item.get("itemIdentifier")) for item in failures if isinstance(item, dict)}
    # Lambda treats a failure it cannot match to a record as the failure of the whole batch.
    if not all(isinstance(item, dict) for item in failures) or not ids <= batch_ids:
        return set(batch_ids)
    return ids


class PausedFlags:
    """The job store's paused queues, read by one thread for all pollers rather than by each of them."""

    def __init__(self, read: Callable[[], set[str]], *, interval_seconds: float = PAUSED_RECHECK_SECONDS) -> None:
        self._read = read
        self._interval = interval_seconds
        self._paused: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paused-flags", daemon=True)

    def is_paused(self, queue: str, *, fresh: bool = False) -> bool:
        """Whether `queue` is paused: as last read, or read now when `fresh`."""
        if fresh:
            self._paused = self._read()
        return queue in self._paused

    def start(self) -> None:
        self._paused = self._read()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # a stack that failed to start never started it
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._paused = self._read()
            except Exception:
                log.exception("could not read the paused queues")


class SqsPoller:
    """One SQS event source of a function: a receiving thread and up to MaximumConcurrency batches at once."""

    def __init__(
        self,
        source: SqsSource,
        function: LocalFunction,
        *,
        sqs: Any,
        queue_url: str,
        region: str,
        paused: PausedFlags,
        queue: str,
        wait_seconds: int,
        max_batching_window: float | None = None,
    ) -> None:
        self.source = source
        self.function = function
        self._sqs = sqs
        self._queue_url = queue_url
        self._region = region
        self._paused_flags = paused
        self._queue = queue
        self._wait_seconds = wait_seconds
        window = source.batching_window_seconds
        self._window = window if max_batching_window is None else min(window, max_batching_window)
        self._slots = threading.Semaphore(source.max_concurrency)
        self._stop = threading.Event()
        self._in_flight: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"poller-{source.queue_name}", daemon=True)
        self.batches = 0

    def start(self) -> None:
        self._thread.start()

    def signal_stop(self) -> None:
        """Receive no more; a long poll in progress still ends by itself."""
        self._stop.set()

    def stop(self, *, grace_seconds: float) -> None:
        """Stop receiving, then give the batches in flight up to `grace_seconds` to finish."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=self._wait_seconds + 5)
        deadline = time.monotonic() + grace_seconds
        with self._lock:
            running = list(self._in_flight)
        for thread in running:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning(
                    "%s: a batch from %s was still running at shutdown",
                    self.function.logical_id,
                    self.source.queue_name,
                )

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._paused(fresh=False):
                self._stop.wait(PAUSED_RECHECK_SECONDS)
                continue
            if not self._slots.acquire(timeout=PAUSED_RECHECK_SECONDS):
                continue
            try:
                batch = self._gather()
            except Exception:
                log.exception("receiving from %s failed", self.source.queue_name)
                batch = []
                self._stop.wait(ERROR_BACKOFF_SECONDS)
            if batch and self._paused(fresh=True):
                # Paused while the long poll waited: hand the messages back untouched.
                self._release(batch)
                batch = []
            if not batch:
                self._slots.release()
                continue
            thread = threading.Thread(target=self._deliver, args=(batch,), daemon=True)
            with self._lock:
                self._in_flight.add(thread)
            thread.start()

    def _paused(self, *, fresh: bool) -> bool:
        try:
            return self._paused_flags.is_paused(self._queue, fresh=fresh)
        except Exception:
            log.exception("could not read the paused flag of %s", self._queue)
            return False

    def _receive(self, count: int, wait: float) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=max(1, min(SQS_MAX_MESSAGES, count)),
            WaitTimeSeconds=int(wait),
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _gather(self) -> list[dict[str, Any]]:
        """One batch: a long poll, then more receives until BatchSize or the batching window ends."""
        size = self.source.batch_size
        batch = self._receive(size, self._wait_seconds)
        if not batch or self._window <= 0:
            return batch
        deadline = time.monotonic() + self._window
        while len(batch) < size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = self._receive(size - len(batch), min(self._wait_seconds, remaining))
            if not more:
                self._stop.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            batch.extend(more)
        return batch

    def _release(self, batch: list[dict[str, Any]]) -> None:
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(batch)
        ]
        self._sqs.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=entries)

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        try:
            records = [lambda_record(m, queue_arn=self.source.queue_arn, region=self._region) for m in batch]
            ids = {r["messageId"] for r in records}
            try:
                result = self.function.invoke({"Records": records})
                failed = failed_ids(result, ids) if self.source.report_batch_item_failures else set()
            except Exception:  # noqa: BLE001 - a failed invocation leaves every message on the queue
                failed = ids
            done = [m for m in batch if m["MessageId"] not in failed]
            for start in range(0, len(done), SQS_MAX_MESSAGES):
                chunk = done[start : start + SQS_MAX_MESSAGES]
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
                self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
            self.batches += 1
            log.info(
                "%s: batch of %d from %s, %d done, %d left for redelivery",
                self.function.logical_id,
                len(batch),
                self.source.queue_name,
                len(done),
                len(failed),
            )
        except Exception:
            log.exception("%s: delivering a batch from %s failed", self.function.logical_id, self.source.queue_name)
        finally:
            with self._lock:
                self._in_flight.discard(threading.current_thread())
            self._slots.release()
