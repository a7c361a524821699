"""API latency in process, p50 and p99: job status (GET a job) and job submission (POST a job) through the
API's Lambda handler (functions/api/app.py) with API Gateway HTTP API v2 events, on the Redis and the DynamoDB
job stores, beside the same events through a bare Powertools APIGatewayHttpResolver with one trivial route.

    .venv/bin/python -m bench.api_latency [--requests 2000] [--dynamodb-requests 500] [--store redis dynamodb]

The handler is the deployed one (Powertools' logger and tracer decorators, the token check, validation,
the job store, and for a submission the SQS SendMessage), its runtime built by `get_runtime()` from
template.yaml's environment, on moto in process (SQS, and DynamoDB for that store) or the Redis on
127.0.0.1. Each request is timed alone, events built beforehand; a warm-up runs first. Logs are at INFO,
counted rather than shown. Time spent inside moto is measured and reported beside each figure: on AWS
that is a network round trip instead.

    GET  /api/v1/jobs/generic-task/{jobId}/status
    POST /api/v1/jobs/generic-task   {"task": "calculateSum", "params": {"numbers": [1, 2, 3]}}
"""

from __future__ import annotations

import argparse
import cProfile
import json
import time
from collections.abc import Callable
from typing import Any

from bench import common, counters, deployed, profiling

common.fake_aws_environment()

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver  # noqa: E402 - after the environment
from moto import mock_aws  # noqa: E402

from jobline_dev.events import http_event  # noqa: E402

QUEUE = "generic-task"
TENANT = "bench-tenant"
BODY = json.dumps({"task": "calculateSum", "params": {"numbers": [1, 2, 3]}})
TARGET_STATUS_P99_MS = 5.0


def bare_resolver() -> APIGatewayHttpResolver:
    """The baseline: Powertools' HTTP API resolver and a trivial route for each request shape."""
    app = APIGatewayHttpResolver()

    @app.get("/api/v1/jobs/<kind>/<job_id>/status")
    def status(kind: str, job_id: str) -> dict[str, Any]:
        return {"success": True, "data": {"jobId": job_id}}

    @app.post("/api/v1/jobs/<kind>")
    def submit(kind: str) -> dict[str, Any]:
        return {"success": True, "data": {"queue": kind}}

    return app


def status_events(token: str, job_id: str, count: int) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    return [http_event("GET", f"/api/v1/jobs/{QUEUE}/{job_id}/status", headers=headers) for _ in range(count)]


def submit_events(token: str, count: int) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return [http_event("POST", f"/api/v1/jobs/{QUEUE}", headers=headers, body=BODY) for _ in range(count)]


def timed(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    events: list[dict[str, Any]],
    expected: int,
    calls: counters.AwsCalls,
) -> tuple[list[float], list[float], int]:
    """Milliseconds per request, milliseconds of each inside moto, and log lines written."""
    context = common.LambdaContext("jobline-api")
    latencies, in_moto = [], []
    with common.captured_output() as output:
        for event in events:
            calls.reset()
            started = time.perf_counter()
            response = handler(event, context)
            latencies.append((time.perf_counter() - started) * 1000)
            in_moto.append(calls.seconds * 1000)
            if response["statusCode"] != expected:
                raise AssertionError(f"{event['rawPath']}: {response['statusCode']} {response.get('body')}")
    return latencies, in_moto, output.log.lines


def profile_status(api: Any, events: list[dict[str, Any]], calls: counters.AwsCalls) -> None:
    """Job status requests under cProfile, read as costs per request."""
    profiler = cProfile.Profile()
    profiler.enable()
    timed(api, events, 200, calls)
    profiler.disable()
    print(f"    profile of {len(events)} job status requests (cProfile inflates the µs; read the shares):")
    profiling.print_report(profiling.entries_of(profiler), len(events), "req", top=15)


def summary(latencies: list[float]) -> tuple[float, float]:
    return common.percentile(latencies, 0.50), common.percentile(latencies, 0.99)


def main(argv: list[str] | None = None) -> list[common.Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=common.by_scale(20, 500, 2_000))
    parser.add_argument(
        "--dynamodb-requests",
        type=int,
        default=common.by_scale(20, 200, 500),
        help="fewer on moto's DynamoDB: each job written makes its later transactions slower (moto copies the table)",
    )
    parser.add_argument("--warmup", type=int, default=common.by_scale(2, 50, 100))
    parser.add_argument("--store", nargs="+", choices=["redis", "dynamodb"], default=["redis", "dynamodb"])
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=common.scale() != "smoke")
    args = parser.parse_args(argv)
    cmd = common.command("bench.api_latency", argv)
    results: list[common.Result] = []
    bare = bare_resolver()
    print(
        f"API latency in process: {args.requests} requests each ({args.dynamodb_requests} on moto's DynamoDB)"
        f" after {args.warmup} to warm up; p50 / p99"
    )
    with mock_aws():
        calls = counters.AwsCalls()
        counters.count_aws_calls(calls)
        api = deployed.load_handler("api")
        for store in args.store:
            with deployed.environment(store):
                token = deployed.token(TENANT)
                # A job to look at, made through the API itself.
                created = api(submit_events(token, 1)[0], common.LambdaContext("jobline-api"))
                job_id = json.loads(created["body"])["data"]["jobId"]
                print(f"  {store} store:")
                for label, make, expected in (
                    ("job status  GET ", lambda n, t=token, j=job_id: status_events(t, j, n), 200),
                    ("job submit  POST", lambda n, t=token: submit_events(t, n), 201),
                ):
                    timed(api, make(args.warmup), expected, calls)
                    timed(bare.resolve, make(args.warmup), 200, calls)
                    # Interleaved halves, so both sides see the same machine.
                    half = max(1, (args.requests if store == "redis" else args.dynamodb_requests) // 2)
                    ours, moto_ms, logs = timed(api, make(half), expected, calls)
                    base, _, _ = timed(bare.resolve, make(half), 200, calls)
                    more, more_moto, more_logs = timed(api, make(half), expected, calls)
                    more_base, _, _ = timed(bare.resolve, make(half), 200, calls)
                    ours, moto_ms, base = ours + more, moto_ms + more_moto, base + more_base
                    p50, p99 = summary(ours)
                    b50, b99 = summary(base)
                    in_moto = common.median(moto_ms)
                    o50, o99 = summary([total - moto for total, moto in zip(ours, moto_ms, strict=True)])
                    print(
                        f"    {label}: {p50:6.2f} / {p99:6.2f} ms   bare resolver {b50:5.3f} / {b99:5.3f} ms"
                        f"   p99 ratio {p99 / b99:5.1f}x   median in moto {in_moto:5.2f} ms"
                        f" (without it {o50:5.2f} / {o99:5.2f} ms);"
                        f" log lines per request {(logs + more_logs) / (2 * half):.1f}"
                    )
                    status = "GET" in label
                    results.append(
                        common.Result(
                            bench="api_latency",
                            name=f"{'job status (GET)' if status else 'job submission (POST)'}, {store} store, p99",
                            value=p99,
                            unit="ms",
                            baseline_name="bare APIGatewayHttpResolver, trivial route, p99",
                            baseline_value=b99,
                            target=f"p99 < {TARGET_STATUS_P99_MS:g} ms" if status else "",
                            met=(p99 < TARGET_STATUS_P99_MS) if status else None,
                            command=cmd,
                            note=(
                                f"p50 {p50:.2f} ms, bare p50 {b50:.3f} ms; without moto's time"
                                f" p50 {o50:.2f} / p99 {o99:.2f} ms"
                            ),
                        )
                    )
                if args.profile and store == "redis":
                    profile_status(api, status_events(token, job_id, 500), calls)
    common.emit(results)
    return results


if __name__ == "__main__":
    main()
