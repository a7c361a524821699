"""Issue 16: a short outage of a dependency spends no attempt; the job waits it out and runs.

Before, a Postgres outage failed jobs for good: an export spent its three attempts in six
seconds. The outages here are real where they can be: the job's database is a closed local port
(pg8000 refused at connect), then the test session's Postgres; moto plays SQS on the test's
clock, so a re-sent message's delay passes when the test says so.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import socket
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from jobline.core.context import JobContext
from jobline.core.errors import EnqueueFailed, UnrecoverableError
from jobline.core.job import JobMessage
from jobline.core.registry import JobType
from jobline.core.retry import Backoff
from jobline.core.states import JobState
from jobline.engine import inline, outages
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.engine.worker import Worker
from jobline.runtime import Runtime
from jobline_dev.support import receive, sqs_event, swapped_job_types
from tests import jobtypes
from tests.faults.driver import SharedClock, share_clock_with_moto

Q = jobtypes.QUEUE
NAME = "test-outage"
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
LOG_LINE = re.compile(r"^database unreachable; attempt not counted; next try in (\d+) s \(InterfaceError\)$")


def closed_port() -> int:
    """A local port nothing listens on: a connection to it is refused at once, as to a stopped Postgres."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Dependency:
    """The job function's dependency: the real Postgres, or (while `down`) a closed port; or it
    raises what `error` says, as a job whose AWS call was throttled would."""

    def __init__(self) -> None:
        self.down = False
        self.error: Exception | None = None
        self.runs = 0
        self._closed = f"postgresql+pg8000://postgres@127.0.0.1:{closed_port()}/jobline"

    def run(self, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        self.runs += 1
        if self.error is not None:
            raise self.error
        if self.down:
            engine = sa.create_engine(self._closed, poolclass=sa.NullPool)
            with engine.connect() as conn:  # refused: pg8000's InterfaceError, as SQLAlchemy wraps it
                conn.execute(sa.text("select 1"))
        with ctx.runtime.sessions() as session:
            return {"answer": session.scalar(sa.text("select 1")), "attempt": ctx.attempt}

    def job_type(self) -> JobType:
        return JobType(queue=Q, name=NAME, payload_model=None, run=self.run)


@pytest.fixture
def dependency(db_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Any:
    clock = SharedClock(T0)
    db_runtime.clock = clock
    share_clock_with_moto(monkeypatch, clock)
    dep = Dependency()
    with swapped_job_types({(Q, NAME): dep.job_type()}):
        yield dep, clock


def add(runtime: Runtime, **options: Any) -> Any:
    opts = JobOptions(attempts=3, backoff=Backoff(type="fixed", delay=1), **options)
    return enqueue(runtime, queue=Q, name=NAME, data={}, tenant_id="t1", options=opts).job


def deliver_one(runtime: Runtime) -> dict[str, Any]:
    messages = receive(runtime, Q)
    assert len(messages) == 1, messages
    return Worker(runtime).handle_batch(sqs_event(runtime, Q, messages))


def test_a_postgres_outage_spends_no_attempt_and_the_job_completes_once_it_is_back(db_runtime, dependency) -> None:
    dep, clock = dependency
    job = add(db_runtime)
    dep.down = True
    waits = []
    for deferral in range(1, 5):  # more outages than the job has attempts
        assert deliver_one(db_runtime) == {"batchItemFailures": []}  # acked: a fresh message wakes it
        stored = db_runtime.store.get(job.id)
        assert (stored.state, stored.attempts, stored.outage_deferrals) == (JobState.WAITING, 0, deferral)
        assert stored.error is None
        wait = (stored.run_at - clock.now).total_seconds()
        line = LOG_LINE.match(stored.logs[-1])
        assert line and int(line.group(1)) == round(wait), stored.logs
        assert outages.OUTAGE_BASE_SECONDS <= wait <= outages.OUTAGE_BASE_SECONDS * 2**deferral
        waits.append(wait)
        assert receive(db_runtime, Q) == []  # the fresh message waits out the delay
        clock.advance(wait + 1)
    dep.down = False
    assert deliver_one(db_runtime) == {"batchItemFailures": []}
    done = db_runtime.store.get(job.id)
    assert (done.state, done.attempts, done.result) == (JobState.COMPLETED, 1, {"answer": 1, "attempt": 1})
    assert dep.runs == 5
    assert receive(db_runtime, Q) == [] and receive(db_runtime, Q, dlq=True) == []


def test_a_job_that_raises_an_ordinary_error_still_spends_its_attempts_and_fails(db_runtime, dependency) -> None:
    dep, clock = dependency
    job = add(db_runtime)
    dep.error = RuntimeError("the job's own bug")
    for _ in range(3):
        deliver_one(db_runtime)
        clock.advance(60)  # past the backoff and the visibility it set
    failed = db_runtime.store.get(job.id)
    assert (failed.state, failed.attempts) == (JobState.FAILED, 3)
    assert failed.outage_deferrals == 0
    assert dep.runs == 3


def test_aws_throttling_is_given_back_too(db_runtime, dependency) -> None:
    dep, clock = dependency
    job = add(db_runtime)
    error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
    dep.error = ClientError(error, "PutEvents")
    for _ in range(4):
        assert deliver_one(db_runtime) == {"batchItemFailures": []}
        stored = db_runtime.store.get(job.id)
        assert (stored.state, stored.attempts) == (JobState.WAITING, 0)
        assert stored.logs[-1].startswith("AWS throttled or unavailable; attempt not counted; next try in ")
        clock.advance((stored.run_at - clock.now).total_seconds() + 1)
    dep.error = None
    deliver_one(db_runtime)
    assert db_runtime.store.get(job.id).state is JobState.COMPLETED


def test_the_job_store_unreachable_when_the_worker_reads_spends_no_attempt(db_runtime, dependency, monkeypatch) -> None:
    """Reading the job fails: nothing is written, and the message comes back later as a fresh one
    (which does not count toward the redrive), instead of failing the record."""
    _dep, clock = dependency
    job = add(db_runtime)
    store = db_runtime.store

    def unreachable(*_args: Any, **_kwargs: Any) -> Any:
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as down:
        down.setattr(store, "get_many", unreachable)
        down.setattr(store, "get", unreachable)
        assert deliver_one(db_runtime) == {"batchItemFailures": []}
    stored = store.get(job.id)
    assert (stored.state, stored.attempts, stored.version) == (JobState.WAITING, 0, job.version)
    assert receive(db_runtime, Q) == []
    clock.advance(outages.OUTAGE_BASE_SECONDS * 2 + 1)
    messages = receive(db_runtime, Q)
    assert [JobMessage.model_validate_json(m["Body"]).outages for m in messages] == [1]
    Worker(db_runtime).handle_batch(sqs_event(db_runtime, Q, messages))
    done = store.get(job.id)
    assert (done.state, done.attempts) == (JobState.COMPLETED, 1)


def test_a_job_run_in_its_request_gives_the_attempt_back_and_leaves_the_job_waiting(db_runtime, dependency) -> None:
    dep, _clock = dependency
    job = add(db_runtime)
    dep.down = True
    after = inline.run_inline(db_runtime, job)
    assert (after.state, after.attempts, after.outage_deferrals) == (JobState.WAITING, 0, 1)


def test_outage_delays_are_jittered_within_their_bounds() -> None:
    rng = random.Random(16)
    for deferrals in range(1, 40):
        ceiling = min(outages.OUTAGE_CAP_SECONDS, outages.OUTAGE_BASE_SECONDS * 2**deferrals)
        delays = [outages.outage_delay(deferrals, rng) for _ in range(200)]
        assert all(outages.OUTAGE_BASE_SECONDS <= d <= ceiling for d in delays), deferrals
        assert max(delays) - min(delays) > (ceiling - outages.OUTAGE_BASE_SECONDS) / 2, "no jitter"
    assert outages.outage_delay(10**6, rng) <= outages.OUTAGE_CAP_SECONDS


def _sa_error(orig: Exception, cls: type[sa.exc.DBAPIError] = sa.exc.OperationalError) -> sa.exc.DBAPIError:
    return cls("select 1", {}, orig)


@pytest.mark.parametrize(
    ("exc", "dependency"),
    [
        (redis.ConnectionError("refused"), outages.Dependency.JOB_STORE),
        (redis.TimeoutError("timed out"), outages.Dependency.JOB_STORE),
        (EndpointConnectionError(endpoint_url="https://sqs"), outages.Dependency.AWS),
        (ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem"), outages.Dependency.AWS),
        (ClientError({"Error": {"Code": "SlowDown"}}, "PutObject"), outages.Dependency.AWS),
        (ClientError({"Error": {"Code": "InternalError"}}, "PutObject"), outages.Dependency.AWS),
        (
            ClientError({"Error": {"Code": "X"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Op"),
            outages.Dependency.AWS,
        ),
        (ClientError({"Error": {"Code": "AccessDenied"}}, "PutObject"), None),
        (ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem"), None),
        (NoCredentialsError(), None),
        (_sa_error(Exception({"C": "57P01", "M": "terminating connection due to administrator command"})), "database"),
        (_sa_error(Exception({"C": "57014", "M": "canceling statement due to statement timeout"})), None),
        (_sa_error(Exception({"C": "23505", "M": "duplicate key"}), sa.exc.IntegrityError), None),
        (RuntimeError("database unreachable"), None),
    ],
)
def test_one_classification_of_connection_level_failures(exc: Exception, dependency: Any) -> None:
    assert outages.outage_of(exc) == dependency
    assert inline.is_unavailable(exc) is (dependency is not None)


def test_a_wrapped_outage_is_one_but_an_unrecoverable_error_never_is() -> None:
    cause = redis.ConnectionError("refused")
    try:
        raise RuntimeError("export failed") from cause
    except RuntimeError as wrapped:
        assert outages.outage_of(wrapped) is outages.Dependency.JOB_STORE
    try:
        raise UnrecoverableError("give up") from cause
    except UnrecoverableError as final:
        assert outages.outage_of(final) is None
    assert inline.is_unavailable(EnqueueFailed("job-1", "refused"))


def test_outcome_of_an_outage_when_the_wake_up_send_fails_keeps_the_message(db_runtime, dependency) -> None:
    """SQS refusing the fresh message too: the record fails, and the kept message comes back."""
    dep, _clock = dependency
    job = add(db_runtime)
    dep.down = True
    messages = receive(db_runtime, Q)

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://sqs")

    db_runtime.transport.send = refused
    response = Worker(db_runtime).handle_batch(sqs_event(db_runtime, Q, messages))
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [messages[0]["MessageId"]]
    stored = db_runtime.store.get(job.id)
    assert (stored.state, stored.attempts) == (JobState.WAITING, 0)
