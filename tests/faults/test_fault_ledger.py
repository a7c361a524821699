"""A thousand jobs through the worker's Lambda handler while faults strike at random; then the ledger.

moto plays SQS (on the test's clock), Redis is the job store, Postgres holds each job's effect.
The seed is printed first and in every assertion message; JOBLINE_FAULT_SEED=<seed> replays a
run (the faults are keyed by the seed; thread interleavings and wall-clock timeouts may still
differ a little). JOBLINE_FAULT_JOBS=<n> runs fewer jobs while iterating.

Assertions marked "CORE BUG n" fail on the core as it stands; n is the finding in the report of
issue 9 (the fault ledger), with its proposed patch.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import random
import time
from collections.abc import Iterator

import pytest

from jobline.aws.sqs import DEAD_LETTERED_BY
from jobline.core.job import JobMessage
from jobline.core.states import JobState
from jobline_dev.support import swapped_job_types
from tests.faults.harness import T0, EndState, FaultRun
from tests.faults.jobtype import NAME, QUEUE

# Every run must show each of these, or it proved nothing.
REQUIRED_FAULTS = (
    "ack_lost",
    "duplicate_delivery",
    "handler_exception",
    "job_timeout_busy",
    "job_timeout_in_query",
    "postgres_drop_idle",
    "postgres_drop_mid_job",
    "redis_kill_idle",
    "redis_kill_mid_job",
    "worker_killed_after_effect",
    "worker_killed_between_records",
    "worker_killed_by_poison_message",
    "worker_killed_in_job",
)


@pytest.fixture
def quiet() -> Iterator[None]:
    """Thousands of job log lines (and the pool's reports of killed connections) would bury the ledger."""
    logs = [logging.getLogger(name) for name in ("jobline", "sqlalchemy.pool")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL + 1)
    yield
    for log, level in zip(logs, levels, strict=True):
        log.setLevel(level)


def _run(request: pytest.FixtureRequest, *, jobs: int, lose_replies: bool, required: tuple[str, ...]) -> None:
    seed = int(os.environ.get("JOBLINE_FAULT_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\nfault ledger seed {seed} (replay: JOBLINE_FAULT_SEED={seed})")
    run = FaultRun(
        jobs=int(os.environ.get("JOBLINE_FAULT_JOBS") or jobs),
        seed=seed,
        tenant=request.getfixturevalue("tenant"),
        database_url=request.getfixturevalue("fault_database_url"),
        redis_prefix=request.getfixturevalue("redis_prefix"),
        redis_admin=request.getfixturevalue("redis_client"),
        pg_killer=request.getfixturevalue("pg_killer"),
        monkeypatch=request.getfixturevalue("monkeypatch"),
        lose_replies=lose_replies,
    )
    started = time.monotonic()
    try:
        with swapped_job_types({(QUEUE, NAME): run.job.job_type()}):
            # The worker prints EMF metric lines after every batch: thousands of them.
            with contextlib.redirect_stdout(io.StringIO()):
                run.drive()
            end = run.end_state()
            _check(run, end, time.monotonic() - started, required=required)
    finally:
        run.close()


@pytest.mark.usefixtures("aws", "quiet")
def test_fault_ledger_thousand_jobs_under_faults_each_completed_once_or_failed_in_dlq(
    request: pytest.FixtureRequest,
) -> None:
    _run(request, jobs=1_000, lose_replies=False, required=REQUIRED_FAULTS)


@pytest.mark.usefixtures("aws", "quiet")
def test_fault_ledger_lost_redis_replies_each_job_completed_once_or_failed_in_dlq(
    request: pytest.FixtureRequest,
) -> None:
    _run(request, jobs=200, lose_replies=True, required=("redis_reply_lost",))


def _check(run: FaultRun, end: EndState, wall_seconds: float, *, required: tuple[str, ...]) -> None:
    ledger = run.ledger
    states = {job_id: (job.state if job else None) for job_id, job in end.jobs.items()}
    completed = {i for i, state in states.items() if state is JobState.COMPLETED}
    failed = {i for i, state in states.items() if state is JobState.FAILED}
    unfinished = {i: str(state) for i, state in states.items() if i not in completed | failed}
    dlq_by_job: dict[str, list[dict]] = {}
    for message in end.dead_letters:
        dlq_by_job.setdefault(JobMessage.model_validate_json(message["Body"]).job_id, []).append(message)
    effects_by_job = {row.job_id: row for row in end.effect_rows}
    runs_by_job: dict[str, list[int]] = {}
    for row in end.run_rows:
        runs_by_job.setdefault(row.job_id, []).append(row.attempt)
    marked = sum(1 for i in failed for m in dlq_by_job.get(i, []) if DEAD_LETTERED_BY in m.get("MessageAttributes", {}))
    stats = end.stats
    ledger.end.update(
        {
            "jobs": len(end.jobs),
            "completed": len(completed),
            "failed": len(failed),
            "failed, dead-lettered by the worker": marked,
            "failed, redriven by SQS and recorded by the tick": len(failed) - marked,
            "unfinished or lost": len(unfinished),
            "dlq messages": len(end.dead_letters),
            "effect rows": len(end.effect_rows),
            "effect writes (re-applications included)": sum(row.writes for row in end.effect_rows),
            "effects re-applied by a re-run": sum(1 for row in end.effect_rows if row.writes > 1),
            "attempts that ran (Postgres log)": len(end.run_rows),
            "attempts that ran (in memory)": sum(run.job.runs.values()),
            "attempts counted by the store": sum(job.attempts for job in end.jobs.values() if job),
            "jobs run more than once": sum(1 for attempts in runs_by_job.values() if len(attempts) > 1),
            "failed jobs with an earlier run that succeeded (its outcome lost)": sum(
                1 for i in failed if any(ended == "returned" for *_, ended in run.job.spans.get(i, []))
            ),
            "attempt numbers run twice (outcome lost, run again)": sum(
                len(attempts) - len(set(attempts)) for attempts in runs_by_job.values()
            ),
            "runs hit by another run's fault": dict(run.job.unplanned),
            "metrics processed": dict(end.processed),
            "queue stats": {
                "waiting": stats.waiting,
                "active": stats.active,
                "delayed": stats.delayed,
                "completed": stats.completed,
                "failed": stats.failed,
                "sqs visible/in flight/delayed": (stats.sqs_visible, stats.sqs_in_flight, stats.sqs_delayed),
                "dlq": stats.dlq_depth,
            },
            "fake time elapsed": str(run.clock() - T0),
            "wall seconds": round(wall_seconds, 1),
        }
    )
    report = ledger.render()
    print("\n" + report)

    # The run proves nothing unless every kind of fault struck and the interesting paths were taken.
    missing = [kind for kind in required if not ledger.faults[kind]]
    if not any(kind.startswith("sqs_throttled:") for kind in ledger.faults):
        missing.append("sqs_throttled")
    assert not missing, f"faults never injected: {missing}\n{report}"
    if "duplicate_delivery" in required:
        # Timing decides how often two deliveries overlap; over 1,000 jobs they always have.
        assert ledger.events["concurrent_duplicate_records"] and ledger.outcomes["deferred"], (
            f"no duplicate delivery ever met a running attempt\n{report}"
        )
    assert ledger.events["redeliveries"] and ledger.outcomes["skipped"], f"no redelivery of a finished job\n{report}"

    # No job lost (still waiting or active, or gone): each ends completed or failed.
    # CORE BUG 1 (the tick dies on a redriven message of a waiting job) and CORE BUG 2 (the DLQ
    # scan never gets past its first ten messages) leave jobs here, and make the driver give up.
    assert not unfinished, f"jobs neither completed nor failed: {dict(list(unfinished.items())[:10])}\n{report}"
    assert not [kind for kind in ledger.events if kind.startswith("gave_up")], f"the driver gave up\n{report}"
    assert ledger.events["dead_letters_recorded"], f"the tick never recorded a redriven message\n{report}"

    # Completed: its effect, once, and no DLQ message. Failed: exactly one DLQ message.
    no_effect = sorted(i for i in completed if i not in effects_by_job)
    assert not no_effect, f"completed jobs without their effect: {no_effect[:10]}\n{report}"
    wrong_result = sorted(i for i in completed if end.jobs[i].result["value"] != effects_by_job[i].value)
    assert not wrong_result, f"completed jobs whose result is not their effect: {wrong_result[:10]}\n{report}"
    # CORE BUG 3: the tick leaves SQS's redriven copy of a finished job's message in the DLQ.
    completed_in_dlq = sorted(i for i in completed if i in dlq_by_job)
    assert not completed_in_dlq, f"completed jobs with a DLQ message: {completed_in_dlq[:10]}\n{report}"
    not_once = {
        i: sorted(sorted(m.get("MessageAttributes", {})) for m in dlq_by_job.get(i, []))
        for i in failed
        if len(dlq_by_job.get(i, [])) != 1
    }
    assert not not_once, f"failed jobs without exactly one DLQ message (job: their attributes): {not_once}\n{report}"
    strangers = sorted(set(dlq_by_job) - set(end.jobs))
    assert not strangers and len(end.dead_letters) == len(failed), f"other DLQ messages: {strangers[:10]}\n{report}"

    # Re-runs happened, the effect stayed single, and each attempt the store counted ran exactly once.
    assert ledger.end["jobs run more than once"] and ledger.end["effects re-applied by a re-run"], report
    assert not set(effects_by_job) - set(runs_by_job), f"an effect without a run\n{report}"
    # CORE BUG 4: a timeout inside a query leaves a half-read connection in the pool; the next job's
    # statements read the previous answers (wrong results, ResourceClosedError, AttributeError).
    assert not run.job.unplanned, f"runs hit by another run's fault: {dict(run.job.unplanned)}\n{report}"
    assert len(end.run_rows) == sum(run.job.logged.values()), f"a logged run without its row\n{report}"
    assert sum(run.job.logged.values()) <= sum(run.job.runs.values()), report
    # Never two runs of one job at once (the conditional start), whatever the duplicates and crashes.
    overlapping = {i: sorted(spans) for i, spans in run.job.spans.items() if _overlap(spans)}
    assert not overlapping, f"runs of one job overlapped (job: start, end, attempt): {overlapping}\n{report}"
    # At least one run per attempt the store counted. CORE BUG 6 (lost replies) and CORE BUG 7
    # (claiming ahead) spend attempts that never run.
    unrun = {
        i: (sorted(runs_by_job.get(i, [])), job.attempts, str(job.state), (job.error or "")[:80])
        for i, job in end.jobs.items()
        if job and set(range(1, job.attempts + 1)) - set(runs_by_job.get(i, []))
    }
    assert not unrun, f"attempts that never ran (job: attempts run, attempts counted, state, error): {unrun}\n{report}"
    # A job's recorded outcome is its last run's. CORE BUG 7: a completion held back for the batch's
    # next write dies with a worker killed before it, and the redelivery fails a job that succeeded.
    last_run_returned = {
        i: sorted((attempt, ended) for _, _, attempt, ended in run.job.spans[i])
        for i in failed
        if run.job.spans.get(i) and max(run.job.spans[i])[3] == "returned"
    }
    assert not last_run_returned, (
        f"failed jobs whose last run succeeded (job: attempt, how each run ended): {last_run_returned}\n{report}"
    )
    poisoned = {i: (str(end.jobs[i].state), end.jobs[i].attempts) for i in run.poison}
    assert all(state == "failed" and attempts == 0 for state, attempts in poisoned.values()), (
        f"poison messages must end failed by redrive, never having run: {poisoned}\n{report}"
    )

    # The counters agree with the job states: the processed metrics and the queue stats.
    # CORE BUG 5: a worker killed mid-batch never writes the counts of the jobs it already finished.
    assert end.processed == {"completed": len(completed), "failed": len(failed)}, (
        f"processed metrics {end.processed} disagree with the job states\n{report}"
    )
    counted = (stats.completed, stats.failed, stats.waiting, stats.active, stats.delayed)
    assert counted == (len(completed), len(failed), 0, 0, 0), f"queue stats disagree: {stats}\n{report}"
    assert (stats.sqs_visible, stats.sqs_in_flight, stats.sqs_delayed) == (0, 0, 0), f"queue not empty\n{report}"
    assert stats.dlq_depth == len(failed), f"DLQ depth {stats.dlq_depth} != failed {len(failed)}\n{report}"


def _overlap(spans: list[tuple[float, float, int, str]]) -> bool:
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(sorted(spans)))
