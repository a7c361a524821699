"""The test-only queue and job type, and the faults a run of the job function can suffer.

The fault of a run is drawn from an RNG keyed by (seed, job index, attempt): the same seed
gives the same faults whatever order the batches run in.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from jobline.core.context import JobContext
from jobline.core.errors import JobTimeout
from jobline.core.queues import QueueSettings, WorkerFunction
from jobline.core.registry import JobType
from jobline.core.retry import Backoff, BackoffKind
from tests.faults import crash, effects, redis_faults
from tests.faults.ledger import Ledger
from tests.faults.redis_faults import RedisKiller

QUEUE = "fault-ledger"
NAME = "fault-ledger-effect"

FAULT_WORKER = WorkerFunction(name="fault_worker", logical_id="FaultWorkerFunction", timeout_seconds=30)
# Like generic-task: batches of 10, three attempts with exponential backoff.
QUEUE_SETTINGS = QueueSettings(
    name=QUEUE,
    logical_id="FaultLedgerQueue",
    consumer=FAULT_WORKER,
    attempts=3,
    backoff=Backoff(type=BackoffKind.EXPONENTIAL, delay=1),
    job_timeout_seconds=5,
    batch_size=10,
)

# The faults of one run and their odds (the other runs have none). The timeouts strike only jobs
# with a tight timeout (`Payload.tight`); `redis_reply_lost` only when the run asks for it.
RUN_FAULTS: tuple[tuple[str, float], ...] = (
    ("handler_exception", 0.08),
    ("job_timeout_busy", 0.05),
    ("job_timeout_in_query", 0.05),
    ("worker_killed_in_job", 0.025),
    ("worker_killed_after_effect", 0.025),
    ("postgres_drop_mid_job", 0.025),
    ("redis_kill_mid_job", 0.03),
    ("redis_reply_lost", 0.03),
)
TIGHT_TIMEOUT_SECONDS = 0.2
INJECTED = "injected:"


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int
    value: str
    doomed: bool = False  # raises on every run: ends failed through its attempts
    tight: bool = False  # enqueued with a TIGHT_TIMEOUT_SECONDS timeout, so it may time out


class InjectedFailure(RuntimeError):
    """The job function's own error."""


class WrongResult(RuntimeError):
    """Postgres answered a statement with another statement's result."""


class FaultyJob:
    """The job function with its faults; keeps an in-memory log of runs beside the Postgres one."""

    def __init__(self, *, seed: int, ledger: Ledger, pg_killer: effects.PostgresKiller, redis_killer: RedisKiller):
        self._seed = seed
        self._ledger = ledger
        self._pg = pg_killer
        self._redis = redis_killer
        self.lose_replies = False
        self.runs: collections.Counter[str] = collections.Counter()
        # Runs whose row in the run log committed (a run cut short before it, by its own
        # timeout or a killed connection, is a run all the same, with no row).
        self.logged: collections.Counter[str] = collections.Counter()
        # Each run of each job: (start, end, attempt, how it ended: returned, late, raised or killed).
        self.spans: dict[str, list[tuple[float, float, int, str]]] = collections.defaultdict(list)
        self.unplanned: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def job_type(self) -> JobType:
        return JobType(queue=QUEUE, name=NAME, payload_model=Payload, run=self.run)

    def plan(self, payload: Payload, attempt: int, deferrals: int = 0) -> str:
        """The fault of this run, decided by the seed alone.

        A run whose attempt was given back (a dropped database connection is an outage: the
        attempt is not counted) runs again under the same attempt number; its consecutive
        deferrals tell the runs apart, or the same fault would strike every one of them.
        """
        if payload.doomed:
            return "doomed"
        again = f":{deferrals}" if deferrals else ""
        roll = random.Random(f"{self._seed}:run:{payload.index}:{attempt}{again}").random()
        for fault, odds in RUN_FAULTS:
            if fault.startswith("job_timeout") and not payload.tight:
                continue
            if fault == "redis_reply_lost" and not self.lose_replies:
                continue
            if roll < odds:
                return fault
            roll -= odds
        return "none"

    def run(self, payload: Payload, ctx: JobContext) -> dict[str, Any]:
        fault = self.plan(payload, ctx.attempt, ctx.job.outage_deferrals)
        started = time.monotonic()
        ended = "killed"
        with self._lock:
            self.runs[ctx.job_id] += 1
        try:
            result = self._run(fault, payload, ctx)
            # Well within its timeout, or the worker may still count the attempt as timed out.
            ended = "returned" if ctx.remaining_seconds() > 0.05 else "late"
            return result
        except Exception as exc:
            ended = "raised"
            if not _planned(fault, exc):
                # The harm of an earlier fault leaking into this run (a connection left broken).
                with self._lock:
                    self.unplanned[f"{fault} -> {type(exc).__name__}: {str(exc)[:80]}"] += 1
            raise
        finally:
            with self._lock:
                self.spans[ctx.job_id].append((started, time.monotonic(), ctx.attempt, ended))

    def _run(self, fault: str, payload: Payload, ctx: JobContext) -> dict[str, Any]:
        with ctx.runtime.sessions() as session, session.begin():
            effects.record_run(session, job_id=ctx.job_id, attempt=ctx.attempt, fault=fault)
        with self._lock:
            self.logged[ctx.job_id] += 1
        if fault in ("handler_exception", "doomed"):
            self._ledger.fault("handler_exception")
            raise InjectedFailure(f"{INJECTED} job {payload.index} failed on attempt {ctx.attempt}")
        if fault == "job_timeout_busy":
            self._ledger.fault(fault)
            # SIGALRM ends this in the main thread; elsewhere the deadline check does, as a long job's loop would.
            while True:
                time.sleep(0.01)
                ctx.check_deadline()
        if fault == "worker_killed_in_job":
            self._ledger.fault(fault)
            raise crash.kill(f"worker killed while running job {payload.index}")
        if fault == "redis_kill_mid_job":
            # The next store write (the attempt's outcome) finds its connection gone.
            self._ledger.fault(fault, min(1, self._redis.kill_store_connections()))
        if fault == "redis_reply_lost":
            redis_faults.lose_next_script_reply()  # strikes the outcome's write
        with ctx.runtime.sessions() as session, session.begin():
            if fault == "job_timeout_in_query":
                self._ledger.fault(fault)
                effects.slow_query(session, TIGHT_TIMEOUT_SECONDS * 3)
                ctx.check_deadline()  # outside the main thread the query ran to its end
            if fault == "postgres_drop_mid_job" and self._pg.kill(effects.backend_pid(session)):
                self._ledger.fault(fault)
            written = effects.write_effect(
                session, job_id=ctx.job_id, tenant_id=ctx.tenant_id, value=payload.value, attempt=ctx.attempt
            )
            if written != ctx.job_id:
                raise WrongResult(f"the effect's upsert returned {written!r}, not {ctx.job_id!r}")
        if fault == "worker_killed_after_effect":
            self._ledger.fault(fault)
            raise crash.kill(f"worker killed after job {payload.index} wrote its effect")
        return {"value": payload.value, "attempt": ctx.attempt}


def _planned(fault: str, exc: Exception) -> bool:
    """Whether `exc` is what this run's own fault causes."""
    if isinstance(exc, InjectedFailure | JobTimeout):
        return True
    return fault == "postgres_drop_mid_job" and isinstance(exc, sa.exc.DBAPIError)
