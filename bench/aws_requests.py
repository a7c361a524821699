"""AWS requests and cost per job: every AWS call of a no-op job's whole life, counted by service and
operation (a botocore `before-call` hook on every client the handlers make), on the DynamoDB and the Redis
job stores, priced per million jobs, beside a bare "SQS send + receive + delete + Lambda invoke" pipeline.

    .venv/bin/python -m bench.aws_requests [--jobs 200] [--store dynamodb redis]
        [--worker-memory-mb 1024] [--worker-ms-per-batch 100] [--api-memory-mb 1024] [--api-ms 30]
        [--bare-ms-per-batch 5]

A job's life, as it runs in AWS, with the real handlers (functions/api/app.py and
functions/task_worker/app.py, on moto in process, their runtime built by `get_runtime()` from the
environment):

1. enqueue: `jobline.engine.enqueue` from a producer's own code, or POST /api/v1/jobs/generic-task through the
   API's Lambda handler (one API Gateway request and one API invocation each);
2. the event source mapping (Lambda's poller, not Jobline's code): ReceiveMessage (up to 10 messages),
   one worker invocation per batch, DeleteMessageBatch for the records not reported as failures; these
   are billed SQS requests and Lambda requests all the same;
3. the worker: the job store (DynamoDB calls; Redis commands are counted but not priced: a Redis node is
   paid by the hour), and the batch's lifecycle events (EventBridge PutEvents, one event per job).

One job goes through the whole pipeline first; what it costs once per process (GetQueueUrl, ...) is
reported apart and left out of the per-job figures, which are the steady state over --jobs jobs.

Prices: public list prices for us-east-1 (x86, standard tiers, free tiers ignored), as given in issue 9
and checked against the AWS pricing pages; the DynamoDB on-demand prices are those since the price cut
of 1 November 2024. They are not fetched at run time: see PRICES.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

from bench import common, counters, deployed
from bench.pricing import PRICES_AS_OF, Units, billed

common.fake_aws_environment()

import boto3  # noqa: E402 - after the fake AWS environment
from moto import mock_aws  # noqa: E402

from jobline import runtime  # noqa: E402
from jobline.core.queues import get_queue  # noqa: E402
from jobline.core.registry import JobType  # noqa: E402
from jobline_dev.events import http_event  # noqa: E402
from jobline_dev.support import sqs_event, swapped_job_types  # noqa: E402

QUEUE = "generic-task"
JOB_NAME = "run-task"  # what POST /api/v1/jobs/generic-task enqueues; swapped for a no-op here
TENANT = "bench-tenant"

# Who makes a call: the phases of a job's life.
PHASES = ("producer", "api", "esm", "worker")


class PhasedCalls(counters.AwsCalls):
    """AWS calls counted per phase of the job's life."""

    def __init__(self) -> None:
        super().__init__(keep_params=True)
        self.by_phase: dict[str, collections.Counter[tuple[str, str]]] = collections.defaultdict(collections.Counter)
        self.params_by_phase: dict[str, list[tuple[str, str, dict[str, Any]]]] = collections.defaultdict(list)
        self.phase = "setup"

    @contextlib.contextmanager
    def during(self, phase: str) -> Iterator[None]:
        previous, self.phase = self.phase, phase
        self.counts, self.params = self.by_phase[phase], self.params_by_phase[phase]
        try:
            yield
        finally:
            self.phase = previous
            self.counts, self.params = self.by_phase[previous], self.params_by_phase[previous]

    def clear(self) -> None:
        self.by_phase.clear()
        self.params_by_phase.clear()
        self.counts, self.params = self.by_phase[self.phase], self.params_by_phase[self.phase]


def job_item_bytes(calls: PhasedCalls) -> int:
    """The size of the largest job item the producer wrote (what a write's 1 KB units are counted on)."""
    sizes: dict[str, int] = {}
    for phase in ("producer", "api", "worker"):
        for service, operation, params in calls.params_by_phase.get(phase, []):
            if service == "dynamodb":
                billed(service, operation, params, sizes)
    return max((size for key, size in sizes.items() if "job#" in key), default=0)


def units_of(calls: PhasedCalls, phase: str) -> Units:
    """The billed units of every call made in `phase`."""
    sizes: dict[str, int] = {}
    total = Units()
    # Sizes come from writes in any phase (the enqueue's Put sizes the worker's reads).
    for service, operation, params in calls.params_by_phase.get("producer", []) + calls.params_by_phase.get("api", []):
        billed(service, operation, params, sizes)
    for service, operation, params in calls.params_by_phase.get(phase, []):
        total = total.add(billed(service, operation, params, sizes))
    return total


# ---------------------------------------------------------------------------------------------- the pipeline


def _noop(payload: Any, ctx: Any) -> None:
    return None


@dataclasses.dataclass
class Pipeline:
    """The real API and worker handlers, and Lambda's event source mapping played by this bench."""

    calls: PhasedCalls
    api: Any
    worker: Any
    token: str
    esm_sqs: Any
    invocations: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    redis: dict[str, collections.Counter[str]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """AWS calls and Redis commands made meanwhile are `name`'s."""
        store = runtime.get_runtime().store
        counter = counters.RedisCommands(store) if hasattr(store, "_replace") else None
        with self.calls.during(name), counter or contextlib.nullcontext(), common.captured_output():
            yield
        if counter is not None:
            self.redis[name].update(counter.counts)

    def enqueue(self, *, via_api: bool) -> None:
        if via_api:
            event = http_event(
                "POST",
                f"/api/v1/jobs/{QUEUE}",
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
                body="{}",
            )
            with self.phase("api"):
                response = self.api(event, common.LambdaContext("jobline-api"))
            assert response["statusCode"] == 201, response
            self.invocations["api"] += 1
        else:
            from jobline.engine.enqueue import enqueue

            with self.phase("producer"):
                enqueue(runtime.get_runtime(), queue=QUEUE, name=JOB_NAME, data={}, tenant_id=TENANT)

    def drain(self) -> int:
        """Lambda's event source mapping: receive up to a batch, invoke the worker, delete what it did not report."""
        transport = runtime.get_runtime().transport
        url = transport.queue_url(QUEUE)
        done = 0
        while True:
            with self.phase("esm"):
                messages = self.esm_sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=get_queue(QUEUE).batch_size, MessageSystemAttributeNames=["All"]
                ).get("Messages", [])
            if not messages:
                # The empty receive is the poller's between batches: idle polling, not a job's cost.
                self.calls.by_phase["esm"][("sqs", "ReceiveMessage")] -= 1
                self.calls.params_by_phase["esm"].pop()
                return done
            event = sqs_event(runtime.get_runtime(), QUEUE, messages)
            with self.phase("worker"):
                response = self.worker(event, common.LambdaContext("task_worker"))
            self.invocations["worker"] += 1
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            assert not failed, response
            with self.phase("esm"):
                self.esm_sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
            done += len(messages)


def bare_pipeline(calls: PhasedCalls, jobs: int) -> collections.Counter[str]:
    """The baseline: SendMessage per job, then receive up to 10, invoke a no-op Lambda, DeleteMessageBatch."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"bare-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    invocations: collections.Counter[str] = collections.Counter()
    calls.clear()
    with calls.during("producer"):
        for n in range(jobs):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"job": n}))
    while True:
        with calls.during("esm"):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            calls.by_phase["esm"][("sqs", "ReceiveMessage")] -= 1
            calls.params_by_phase["esm"].pop()
            break
        invocations["worker"] += 1  # a no-op handler
        with calls.during("esm"):
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
    return invocations


# ---------------------------------------------------------------------------------------------- report


@dataclasses.dataclass
class Assumptions:
    worker_memory_mb: int
    worker_ms_per_batch: float
    api_memory_mb: int
    api_ms: float
    bare_ms_per_batch: float


@dataclasses.dataclass
class Tally:
    """One pipeline's per-job calls and units, phase by phase."""

    label: str
    jobs: int
    calls: dict[str, collections.Counter[tuple[str, str]]]
    units: dict[str, Units]
    redis: dict[str, collections.Counter[str]]
    item_bytes: int = 0

    def per_job_calls(self) -> float:
        return sum(sum(c.values()) for c in self.calls.values()) / self.jobs

    def total(self) -> Units:
        total = Units()
        for units in self.units.values():
            total = total.add(units)
        return total.scaled(1 / self.jobs)


def lambda_units(invocations: collections.Counter[str], a: Assumptions, *, bare: bool = False) -> dict[str, Units]:
    """Requests and GB-seconds of the invocations, at the assumed memory and duration."""
    worker_ms = a.bare_ms_per_batch if bare else a.worker_ms_per_batch
    out = {
        "esm": Units(
            lambda_requests=invocations["worker"],
            lambda_gb_seconds=invocations["worker"] * worker_ms / 1000 * a.worker_memory_mb / 1024,
        )
    }
    if invocations["api"]:
        out["api"] = Units(
            lambda_requests=invocations["api"],
            lambda_gb_seconds=invocations["api"] * a.api_ms / 1000 * a.api_memory_mb / 1024,
            api_gateway_requests=invocations["api"],
        )
    return out


def tally(
    label: str,
    jobs: int,
    calls: PhasedCalls,
    invocations: collections.Counter[str],
    a: Assumptions,
    *,
    redis: dict[str, collections.Counter[str]] | None = None,
    bare: bool = False,
) -> Tally:
    phases = [p for p in PHASES if calls.by_phase.get(p)]
    units = {p: units_of(calls, p) for p in phases}
    for phase, extra in lambda_units(invocations, a, bare=bare).items():
        units[phase] = units.get(phase, Units()).add(extra)
    counted = {p: collections.Counter({k: v for k, v in calls.by_phase[p].items() if v}) for p in phases}
    return Tally(label, jobs, counted, units, dict(redis or {}), job_item_bytes(calls))


WHO = {
    "producer": "producer (jobline.engine.enqueue in the caller's code)",
    "api": "API function (POST /api/v1/jobs/generic-task)",
    "esm": "event source mapping (Lambda's poller: SQS's requests, Lambda's invocations)",
    "worker": "worker function (task_worker)",
}


def print_tally(t: Tally) -> None:
    print(f"  {t.label}: per job, over {t.jobs} jobs")
    for phase in PHASES:
        if phase not in t.units and phase not in t.calls:
            continue
        print(f"    {WHO[phase]}")
        for (service, op), n in sorted(t.calls.get(phase, {}).items()):
            print(f"      {n / t.jobs:6.2f}  {service} {op}")
        for name, n in sorted(t.redis.get(phase, {}).items()):
            print(f"      {n / t.jobs:6.2f}  redis {name}")
        u = t.units.get(phase, Units()).scaled(1 / t.jobs)
        if u.lambda_requests:
            print(f"      {u.lambda_requests:6.2f}  lambda invocations ({u.lambda_gb_seconds:.4f} GB-s)")
        if u.api_gateway_requests:
            print(f"      {u.api_gateway_requests:6.2f}  API Gateway HTTP API requests")
    if t.item_bytes:
        print(f"    a job's DynamoDB item: up to {t.item_bytes} bytes, so {math.ceil(t.item_bytes / 1024)} WRU a write")
    total = t.total()
    dollars = total.dollars()
    print(
        f"    billed per job: SQS {total.sqs_requests:.2f} requests, DynamoDB {total.dynamodb_wru:.1f} WRU +"
        f" {total.dynamodb_rru:.1f} RRU, EventBridge {total.eventbridge_events:.2f} events, Lambda"
        f" {total.lambda_requests:.2f} requests + {total.lambda_gb_seconds:.4f} GB-s, API Gateway"
        f" {total.api_gateway_requests:.2f}"
    )
    shown = ", ".join(f"{k} ${v * 1e6:,.2f}" for k, v in dollars.items() if v)
    print(f"    per million jobs: ${sum(dollars.values()) * 1e6:,.2f} ({shown})")


def run_store(store: str, jobs: int, calls: PhasedCalls, api: Any, worker: Any, a: Assumptions) -> list[Tally]:
    """Both producers (enqueue and the API) on one store: a warm-up job, then `jobs` jobs each."""
    tallies = []
    with deployed.environment(store):
        token = deployed.token(TENANT)
        pipeline = Pipeline(calls=calls, api=api, worker=worker, token=token, esm_sqs=boto3.client("sqs"))
        calls.clear()
        # One job through the whole pipeline, each way: what a process pays once.
        pipeline.enqueue(via_api=False)
        pipeline.enqueue(via_api=True)
        pipeline.drain()
        once = {p: collections.Counter({k: v for k, v in c.items() if v}) for p, c in calls.by_phase.items()}
        print(
            f"  {store} store, the first job each way (2 jobs; with what a process pays once, such as GetQueueUrl),"
            " left out of the per-job figures:"
        )
        for phase, counter in once.items():
            if phase == "setup":
                continue
            for (service, op), n in sorted(counter.items()):
                print(f"      {n:3d}  {service} {op}  ({phase})")
        for via_api in (False, True):
            calls.clear()
            pipeline.invocations.clear()
            pipeline.redis.clear()
            for _ in range(jobs):
                pipeline.enqueue(via_api=via_api)
            assert pipeline.drain() == jobs
            label = f"{store} store, enqueued through {'the API' if via_api else 'jobline.engine.enqueue'}"
            tallies.append(tally(label, jobs, calls, pipeline.invocations, a, redis=pipeline.redis))
    return tallies


def main(argv: list[str] | None = None) -> list[common.Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=common.by_scale(10, 50, 200))
    parser.add_argument("--store", nargs="+", choices=["dynamodb", "redis"], default=["dynamodb", "redis"])
    parser.add_argument("--worker-memory-mb", type=int, default=1024, help="TaskWorkerFunction's MemorySize")
    parser.add_argument("--worker-ms-per-batch", type=float, default=100.0, help="assumed billed ms per batch of 10")
    parser.add_argument("--api-memory-mb", type=int, default=1024, help="ApiFunction's MemorySize")
    parser.add_argument("--api-ms", type=float, default=30.0, help="assumed billed ms per API request")
    parser.add_argument("--bare-ms-per-batch", type=float, default=5.0, help="assumed billed ms of a no-op handler")
    args = parser.parse_args(argv)
    a = Assumptions(
        args.worker_memory_mb, args.worker_ms_per_batch, args.api_memory_mb, args.api_ms, args.bare_ms_per_batch
    )
    cmd = common.command("bench.aws_requests", argv)
    print(
        f"AWS requests per no-op job on {QUEUE!r} (batch size {get_queue(QUEUE).batch_size}), priced at {PRICES_AS_OF}"
    )
    print(
        f"  assumed: worker {a.worker_memory_mb} MB, {a.worker_ms_per_batch:g} ms per batch of 10;"
        f" API {a.api_memory_mb} MB, {a.api_ms:g} ms per request; bare no-op handler {a.bare_ms_per_batch:g} ms"
        " per batch"
    )
    results: list[common.Result] = []
    with mock_aws(), swapped_job_types({(QUEUE, JOB_NAME): None}):
        calls = PhasedCalls()
        counters.count_aws_calls(calls)
        api, worker = deployed.load_handler("api"), deployed.load_handler("task_worker")
        tallies: list[Tally] = []
        with swapped_job_types({(QUEUE, JOB_NAME): JobType(queue=QUEUE, name=JOB_NAME, payload_model=None, run=_noop)}):
            for store in args.store:
                tallies.extend(run_store(store, args.jobs, calls, api, worker, a))
        invocations = bare_pipeline(calls, args.jobs)
        bare = tally(
            "baseline: bare SQS send + receive + delete + Lambda invoke", args.jobs, calls, invocations, a, bare=True
        )
    for t in tallies:
        print_tally(t)
    print_tally(bare)
    bare_dollars = sum(bare.total().dollars().values()) * 1e6
    bare_calls = bare.per_job_calls() + bare.total().lambda_requests
    for t in tallies:
        dollars = sum(t.total().dollars().values()) * 1e6
        results.append(
            common.Result(
                bench="aws_requests",
                name=f"AWS cost per million no-op jobs, {t.label}",
                value=dollars,
                unit="$",
                baseline_name="bare SQS send + receive + delete + Lambda invoke",
                baseline_value=bare_dollars,
                command=cmd,
            )
        )
        results.append(
            common.Result(
                bench="aws_requests",
                name=f"AWS requests per job (API calls + invocations), {t.label}",
                value=t.per_job_calls() + t.total().lambda_requests + t.total().api_gateway_requests,
                unit="requests",
                baseline_name="bare SQS send + receive + delete + Lambda invoke",
                baseline_value=bare_calls,
                command=cmd,
            )
        )
    common.emit(results)
    return results


if __name__ == "__main__":
    main()
