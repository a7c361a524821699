"""One fault run: the runtime and its injectors, the producer of the jobs, the driver, and what is read back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

import boto3
import pytest
import redis
import sqlalchemy as sa

from jobline.core.errors import EnqueueFailed
from jobline.core.job import Job
from jobline.core.queues import QUEUES
from jobline.engine import operations
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.store.redis import RedisJobStore
from jobline.telemetry import metrics
from jobline_dev.support import make_runtime
from tests.conftest import REDIS_URL
from tests.faults import effects
from tests.faults.driver import DriverOdds, EventSourceMapping, SharedClock, share_clock_with_moto
from tests.faults.effects import PostgresKiller
from tests.faults.jobtype import NAME, QUEUE, QUEUE_SETTINGS, TIGHT_TIMEOUT_SECONDS, FaultyJob
from tests.faults.ledger import Ledger
from tests.faults.redis_faults import RedisKiller, store_client
from tests.faults.sqs_faults import SqsThrottler

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
SQS_THROTTLE_RATE = 0.03  # per SQS call of the runtime (worker, tick, enqueue)
WAVE = 50  # jobs enqueued at a time, whenever fewer are queued (moto scans every message on a receive)
POISON_JOBS = 2  # messages that kill every worker receiving them
DOOMED_SHARE = 0.02  # jobs whose function always raises
TIGHT_SHARE = 0.2  # jobs with a short timeout, which the timeout faults strike


@dataclasses.dataclass
class EndState:
    """Everything the checks read after the run, read once."""

    jobs: dict[str, Job | None]
    stats: operations.QueueStats
    processed: dict[str, int]
    dead_letters: list[dict[str, Any]]
    effect_rows: list[Any]
    run_rows: list[Any]


class FaultRun:
    """Builds the runtime (moto, Redis store, Postgres), enqueues the jobs in waves and drives them."""

    def __init__(
        self,
        *,
        jobs: int,
        seed: int,
        tenant: str,
        database_url: str,
        redis_prefix: str,
        redis_admin: redis.Redis,
        pg_killer: PostgresKiller,
        monkeypatch: pytest.MonkeyPatch,
        lose_replies: bool,
    ) -> None:
        self.seed = seed
        self.tenant = tenant
        self.lose_replies = lose_replies
        self.ledger = Ledger(seed)
        self._rng = random.Random(f"{seed}:jobs")
        monkeypatch.setitem(QUEUES, QUEUE, QUEUE_SETTINGS)  # before make_runtime: it provisions the registry
        self.redis_client, client_name = store_client(REDIS_URL, self.ledger)
        store = RedisJobStore(self.redis_client, prefix=redis_prefix)
        self.runtime = make_runtime(store, database_url=database_url)
        self.clock = SharedClock(T0)
        self.runtime.clock = self.clock
        share_clock_with_moto(monkeypatch, self.clock)
        self.pg_killer = pg_killer
        self.redis_killer = RedisKiller(redis_admin, client_name)
        self.job = FaultyJob(seed=seed, ledger=self.ledger, pg_killer=pg_killer, redis_killer=self.redis_killer)
        self.job.lose_replies = lose_replies
        self.n_jobs = jobs
        self.job_ids: list[str] = []
        self._poison_indexes = set(self._rng.sample(range(jobs), POISON_JOBS))
        self.poison: set[str] = set()
        self.deliveries: dict[str, int] = {}
        # The event source mapping's own client: the throttling hook is on the runtime's only.
        self.esm_sqs = boto3.client("sqs", region_name="us-east-1")

    # -- the producer -------------------------------------------------------------------------

    @property
    def exhausted(self) -> bool:
        return len(self.job_ids) >= self.n_jobs

    def top_up(self, queued: int) -> None:
        """A wave of jobs whenever the queue runs low; its enqueues meet the throttling too, and retry."""
        if queued >= WAVE:
            return
        for index in range(len(self.job_ids), min(self.n_jobs, len(self.job_ids) + WAVE)):
            tight = self._rng.random() < TIGHT_SHARE
            data = {"index": index, "value": f"v{index}", "doomed": self._rng.random() < DOOMED_SHARE, "tight": tight}
            options = JobOptions(job_id=f"job-{index}", timeout=round(TIGHT_TIMEOUT_SECONDS * 1000) if tight else None)
            for _ in range(10):
                try:
                    enqueued = enqueue(
                        self.runtime, queue=QUEUE, name=NAME, data=data, tenant_id=self.tenant, options=options
                    )
                    break
                except EnqueueFailed:
                    self.ledger.event("enqueues_refused_and_retried")
            else:
                raise AssertionError(f"job {index} could not be enqueued in ten tries")
            self.job_ids.append(enqueued.job.id)
            if index in self._poison_indexes:
                self.poison.add(enqueued.job.id)

    # -- the run ------------------------------------------------------------------------------

    def drive(self) -> None:
        throttler = SqsThrottler(
            self.runtime.transport._sqs, seed=self.seed, rate=SQS_THROTTLE_RATE, ledger=self.ledger
        )
        esm = EventSourceMapping(
            self.runtime,
            sqs=self.esm_sqs,
            clock=self.clock,
            producer=self,
            seed=self.seed,
            ledger=self.ledger,
            poison=self.poison,
            pg_killer=self.pg_killer,
            redis_killer=self.redis_killer,
            odds=DriverOdds(lost_reply_on_take=0.05 if self.lose_replies else 0.0),
        )
        try:
            esm.run()
        finally:
            throttler.enabled = False
            self.deliveries = esm.deliveries

    def end_state(self) -> EndState:
        # Whatever a reader of the DLQ hid for a while is visible again; no tick runs any more.
        self.clock.advance(15 * 60)
        # The stats read SQS depths, so they come before the DLQ read below, which hides what it reads.
        stats = operations.queue_stats(self.runtime, QUEUE)
        return EndState(
            jobs={job_id: self.runtime.store.get(job_id) for job_id in self.job_ids},
            stats=stats,
            processed=metrics.read_metrics(self.runtime, QUEUE).processed,
            dead_letters=self._dead_letters(),
            effect_rows=self._rows(effects.EFFECTS),
            run_rows=self._rows(effects.RUNS),
        )

    def _dead_letters(self) -> list[dict[str, Any]]:
        url = self.runtime.transport.dlq_url(QUEUE)
        found: list[dict[str, Any]] = []
        while batch := self.esm_sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600, MessageAttributeNames=["All"]
        ).get("Messages", []):
            found.extend(batch)
        return found

    def _rows(self, table: sa.Table) -> list[Any]:
        engine = sa.create_engine(self.runtime.settings.database_url, poolclass=sa.NullPool)
        try:
            with engine.connect() as conn:
                return list(conn.execute(sa.select(table)))
        finally:
            engine.dispose()

    def close(self) -> None:
        self.runtime.engine.dispose()
        self.redis_client.close()
