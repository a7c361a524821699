"""Drives the worker as Lambda's SQS event source mapping would, with faults of its own.

One round: receive a batch (sometimes two, run at once), hand each to a fresh `Worker`'s Lambda
handler, delete the records it did not report as failures. When nothing is visible, move the one
clock that SQS (moto) and the runtime share to the next message's visibility, firing the
per-minute tick on the way, until the queue is empty and every job is finished (or nothing moves).

Timeline of a crashed invocation (a `WorkerKilled` escaping the handler):

    receive (visibility 180 s) ─▶ records 1..k-1 run ─▶ record k kills the process ─▶ no response,
    nothing deleted ─▶ 180 s later every record is delivered again: finished jobs are skipped, the
    killed job's lease (timeout + 30 s) has ended, so the next delivery takes it over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import threading
from collections.abc import Callable
from typing import Any, Protocol

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs import models as moto_sqs

from jobline.core.job import JobMessage
from jobline.core.states import JobState
from jobline.engine.outcomes import RedeliverLater
from jobline.engine.worker import Worker
from jobline.runtime import Runtime
from jobline.tick import periodic
from jobline_dev.support import FakeClock, sqs_event
from tests.faults import crash, redis_faults
from tests.faults.crash import WorkerKilled
from tests.faults.effects import PostgresKiller
from tests.faults.jobtype import QUEUE, QUEUE_SETTINGS
from tests.faults.ledger import Ledger
from tests.faults.redis_faults import RedisKiller


@dataclasses.dataclass(frozen=True)
class DriverOdds:
    """How often the driver injects each of its faults."""

    concurrent_batches: float = 0.12  # a round runs two invocations at once, sharing some records
    shared_records: int = 2  # records of the first batch also delivered in the second
    duplicate_send: float = 0.02  # per record: SQS delivers another copy later
    ack_lost: float = 0.02  # per acknowledged record: the mapping's delete is lost
    killed_between_records: float = 0.08  # per invocation: the process dies before record k
    lost_reply_on_take: float = 0.0  # per record: the write that starts the attempt loses its reply
    postgres_drop_idle: float = 0.05  # per round: every pooled connection of the database is terminated
    redis_kill_idle: float = 0.05  # per round: the store's connections are killed between invocations


@dataclasses.dataclass
class Limits:
    max_rounds: int = 20_000
    max_fake_seconds: float = 10 * 60 * 60  # moto refuses visibility past 12 h of a message's life
    idle_ticks: int = 5  # clean ticks in a row with unfinished jobs and an empty queue: stuck


class Producer(Protocol):
    """Enqueues the jobs in waves while the workers run, so the queue never holds all of them at once."""

    @property
    def exhausted(self) -> bool: ...

    def top_up(self, queued: int) -> None:
        """Enqueue more jobs if only `queued` messages are on the queue."""


class SharedClock(FakeClock):
    """The test's clock, also read (as a Unix time, many times per receive) by moto's SQS."""

    def __init__(self, start: dt.datetime) -> None:
        super().__init__(start)
        self.epoch = start.timestamp()

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        self.epoch = self.now.timestamp()


class LambdaContext:
    """The slice of Lambda's context the worker reads."""

    function_name = "fault_worker"
    aws_request_id = "fault-ledger"

    def get_remaining_time_in_millis(self) -> int:
        return (QUEUE_SETTINGS.consumer.timeout_seconds - 1) * 1000


def share_clock_with_moto(monkeypatch: pytest.MonkeyPatch, clock: SharedClock) -> None:
    """SQS visibility, delays and receive counts follow the test's clock, not the wall clock."""
    original = moto_sqs.unix_time

    def unix_time(value: dt.datetime | None = None) -> float:
        return clock.epoch if value is None else original(value)

    def unix_time_millis(value: dt.datetime | None = None) -> float:
        return clock.epoch * 1000.0 if value is None else original(value) * 1000.0

    monkeypatch.setattr(moto_sqs, "unix_time", unix_time)
    monkeypatch.setattr(moto_sqs, "unix_time_millis", unix_time_millis)


class EventSourceMapping:
    """Lambda's SQS poller for the fault queue, with the faults of the platform around the worker."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        sqs: Any,
        clock: SharedClock,
        producer: Producer,
        seed: int,
        ledger: Ledger,
        poison: set[str],
        pg_killer: PostgresKiller,
        redis_killer: RedisKiller,
        odds: DriverOdds,
        limits: Limits | None = None,
    ) -> None:
        self.runtime = runtime
        self._sqs = sqs  # the mapping's own client: the throttling hook is on the runtime's
        self._url = runtime.transport.queue_url(QUEUE)
        self._clock = clock
        self._producer = producer
        self._rng = random.Random(f"{seed}:driver")
        self._ledger = ledger
        self._poison = poison
        self._pg = pg_killer
        self._redis = redis_killer
        self._odds = odds
        self._limits = limits or Limits()
        self._start = clock()
        self._next_tick = self._minute_after(clock())
        self._settled = False  # the last tick ran for the fault queue and found nothing to do
        self.deliveries: dict[str, int] = {}

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Deliver until the queue is empty and no job is left unfinished, or nothing moves any more."""
        idle_ticks = 0
        for _ in range(self._limits.max_rounds):
            self._ledger.event("rounds")
            self._producer.top_up(len(self._pending_messages()))
            self._idle_faults()
            if self._round():
                idle_ticks = 0
                continue
            if self._clock() - self._start > dt.timedelta(seconds=self._limits.max_fake_seconds):
                self._ledger.event("gave_up:fake_time_limit")
                return
            pending = self._pending_messages()
            if pending:
                self._advance_to(min(self._visible_at(m) for m in pending))
                continue
            if not self._producer.exhausted:
                continue  # the producer tops the queue up next round
            # The queue is empty: only the tick can still move a job (a redriven message).
            if not self._unfinished():
                self._advance_to(self._next_tick)
                if self._settled:
                    return  # a tick found the DLQ in order after the last message: the schedule's last word
                continue
            recorded = self._ledger.events["dead_letters_recorded"]
            if self._advance_to(self._next_tick) and self._ledger.events["dead_letters_recorded"] == recorded:
                idle_ticks += 1
                if idle_ticks >= self._limits.idle_ticks:
                    self._ledger.event("gave_up:nothing_moves")
                    return
            else:
                idle_ticks = 0
        self._ledger.event("gave_up:round_limit")

    def _round(self) -> bool:
        first = self._receive()
        if not first:
            return False
        batches = [first]
        if self._rng.random() < self._odds.concurrent_batches:
            # Two invocations at once; the first records of the first batch reach the second too,
            # as a duplicate delivery of SQS would while the first invocation still runs them.
            shared = first[: self._odds.shared_records]
            second = [*shared, *self._receive(self._odds.shared_records)]
            self._ledger.event("concurrent_rounds")
            self._ledger.event("concurrent_duplicate_records", len(shared))
            batches.append(second)
        plans = [self._plan(batch) for batch in batches]
        results = self._invoke_all(batches, plans)
        for batch, result in zip(batches, results, strict=True):
            self._acknowledge(batch, result)
        return True

    # -- receiving and invoking -------------------------------------------------------------

    def _receive(self, shared: int = 0) -> list[dict[str, Any]]:
        size = QUEUE_SETTINGS.batch_size - shared
        response = self._sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=size, MessageSystemAttributeNames=["All"]
        )
        messages = list(response.get("Messages", []))
        for message in messages:
            self._ledger.event("deliveries")
            if int(message["Attributes"]["ApproximateReceiveCount"]) > 1:
                self._ledger.event("redeliveries")
            job_id = JobMessage.model_validate_json(message["Body"]).job_id
            self.deliveries[job_id] = self.deliveries.get(job_id, 0) + 1
            if self._rng.random() < self._odds.duplicate_send:
                self._sqs.send_message(QueueUrl=self._url, MessageBody=message["Body"])
                self._ledger.fault("duplicate_delivery")
        return messages

    def _plan(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        kill_before = None
        if len(batch) > 1 and self._rng.random() < self._odds.killed_between_records:
            kill_before = self._rng.randrange(1, len(batch))
        lose_take = {m["MessageId"] for m in batch if self._rng.random() < self._odds.lost_reply_on_take}
        return {"kill_before": kill_before, "lose_take": lose_take}

    def _invoke_all(self, batches: list[list[dict[str, Any]]], plans: list[dict[str, Any]]) -> list[Any]:
        results: list[Any] = [None] * len(batches)
        if len(batches) == 1:
            results[0] = self._invoke(batches[0], plans[0])
            return results
        start = threading.Barrier(len(batches))

        def invoke(i: int) -> None:
            start.wait()
            results[i] = self._invoke(batches[i], plans[i])

        helpers = [threading.Thread(target=invoke, args=(i,)) for i in range(1, len(batches))]
        for helper in helpers:
            helper.start()
        invoke(0)  # the main thread's invocation times its jobs out by SIGALRM, the others by deadline checks
        for helper in helpers:
            helper.join()
        return results

    def _invoke(self, batch: list[dict[str, Any]], plan: dict[str, Any]) -> Any:
        """One Lambda invocation: the handler's response, or the exception that killed the process."""
        worker = Worker(self.runtime)
        worker.process = self._watched(worker.process, batch, plan)  # type: ignore[method-assign]
        self._ledger.event("invocations")
        try:
            return worker.handle_batch(sqs_event(self.runtime, QUEUE, batch), LambdaContext())
        except WorkerKilled as killed:
            self._ledger.event("invocations_killed")
            return killed
        finally:
            redis_faults.disarm()
            crash.revive()

    def _watched(self, process: Callable[..., str], batch: list[dict[str, Any]], plan: dict[str, Any]) -> Any:
        """The worker's per-record entry, wrapped to count outcomes and to kill the process on cue."""
        handles = {m["ReceiptHandle"]: m for m in batch}
        seen = 0

        def watched(body: str, **kwargs: Any) -> str:
            nonlocal seen
            seen += 1
            message = handles.get(kwargs.get("receipt_handle", ""))
            job_id = JobMessage.model_validate_json(body).job_id
            if job_id in self._poison:
                self._ledger.fault("worker_killed_by_poison_message")
                raise crash.kill(f"poison message {job_id} kills its worker")
            if plan["kill_before"] is not None and seen > plan["kill_before"]:
                self._ledger.fault("worker_killed_between_records")
                raise crash.kill("the worker died between two records")
            if message is not None and message["MessageId"] in plan["lose_take"]:
                redis_faults.lose_next_script_reply()
            try:
                outcome = process(body, **kwargs)
            except RedeliverLater as later:
                self._ledger.outcome(str(later.outcome))
                raise
            except Exception:
                self._ledger.outcome("error_escaped_worker")
                raise
            finally:
                redis_faults.disarm()
            self._ledger.outcome(str(outcome))
            return outcome

        return watched

    def _acknowledge(self, batch: list[dict[str, Any]], result: Any) -> None:
        """Delete what the invocation acknowledged; a killed invocation acknowledges nothing."""
        if not isinstance(result, dict):
            return
        failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
        self._ledger.event("records_reported_failed", len(failed))
        entries = []
        for message in batch:
            if message["MessageId"] in failed:
                continue
            if self._rng.random() < self._odds.ack_lost:
                self._ledger.fault("ack_lost")  # SQS delivers it again after its visibility timeout
                continue
            entries.append({"Id": str(len(entries)), "ReceiptHandle": message["ReceiptHandle"]})
        if entries:
            # A record shared by two invocations may be deleted twice: SQS accepts a used handle.
            self._sqs.delete_message_batch(QueueUrl=self._url, Entries=entries)

    # -- time, the tick, and the faults between invocations ----------------------------------

    def _idle_faults(self) -> None:
        if self._rng.random() < self._odds.postgres_drop_idle and self._pg.kill_all():
            self._ledger.fault("postgres_drop_idle")
        if self._rng.random() < self._odds.redis_kill_idle and self._redis.kill_store_connections():
            self._ledger.fault("redis_kill_idle")

    def _pending_messages(self) -> list[Any]:
        backend = moto_sqs.sqs_backends[DEFAULT_ACCOUNT_ID][self._region]
        return list(backend.get_queue(self._url.rsplit("/", 1)[-1])._messages)

    @property
    def _region(self) -> str:
        return str(self._sqs.meta.region_name)

    def _visible_at(self, message: Any) -> dt.datetime:
        millis = max(message.visible_at or 0, message.delayed_until or 0)
        return dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC) + dt.timedelta(milliseconds=1)

    def _advance_to(self, when: dt.datetime) -> bool:
        """Move the clock to `when` (at most to the next tick, which then runs); True if a tick ran cleanly."""
        target = min(when, self._next_tick)
        if target <= self._clock():
            target = self._clock() + dt.timedelta(seconds=1)
        self._clock.advance((target - self._clock()).total_seconds())
        self._ledger.event("clock_advances")
        return self._clock() >= self._next_tick and self._tick()

    @staticmethod
    def _minute_after(moment: dt.datetime) -> dt.datetime:
        return moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)

    def _tick(self) -> bool:
        """The per-minute schedule; False when the invocation failed (EventBridge runs it again next minute)."""
        self._next_tick = self._minute_after(self._clock())
        self._settled = False
        self._ledger.event("ticks")
        try:
            report = periodic.run_tick(self.runtime)
        except Exception as exc:  # noqa: BLE001 - a failed tick is one of the faults; the next one retries
            self._ledger.event(f"ticks_failed:{type(exc).__name__}")
            return False
        # A tick that isolates its queues reports the ones it could not finish instead of raising.
        failed_queues = getattr(report, "failed_queues", ())
        self._ledger.event("tick_queues_failed", len(failed_queues))
        self._ledger.event("dead_letters_recorded", report.dead_letters_recorded)
        self._ledger.event("stale_dead_letters_dropped", report.stale_dead_letters_dropped)
        changed = report.dead_letters_recorded + report.stale_dead_letters_dropped
        self._settled = QUEUE not in failed_queues and not changed
        return QUEUE not in failed_queues

    def _unfinished(self) -> bool:
        counts = self.runtime.store.counts(QUEUE)
        return any(counts[state] for state in (JobState.WAITING, JobState.ACTIVE, JobState.DELAYED))
