"""Shared set-up for the benchmarks: scales, fake AWS settings, a throwaway Postgres database and Redis
prefix, output capture, and the results every benchmark hands to `python -m bench` (with their table).

Each benchmark prints its own figures beside its baseline, and also records them with
`emit(...)`: when `BENCH_RESULTS_JSON` names a file (the runner sets it), the results are
appended there as JSON lines, from which `python -m bench` writes bench/RESULTS.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import os
import platform
import shlex
import statistics
import sys
import uuid
from collections.abc import Iterator, Sequence

POSTGRES_ADMIN_URL = os.environ.get(
    "JOBLINE_BENCH_POSTGRES_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("JOBLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
REGION = "us-east-1"

# smoke: seconds, for tests/unit/test_bench_smoke.py; quick: a minute or two in all; full: the figures.
SCALES = ("smoke", "quick", "full")
RESULTS_ENV = "BENCH_RESULTS_JSON"


def scale() -> str:
    """The scale named by BENCH_SCALE (default: full)."""
    value = os.environ.get("BENCH_SCALE", "full").strip().lower() or "full"
    if value not in SCALES:
        raise SystemExit(f"BENCH_SCALE must be one of {', '.join(SCALES)}, not {value!r}")
    return value


def by_scale[T](smoke: T, quick: T, full: T) -> T:
    """The value for the current scale."""
    return {"smoke": smoke, "quick": quick, "full": full}[scale()]


def fake_aws_environment() -> None:
    """Fixed fake credentials and one region, so nothing can reach a real AWS account (moto serves every call)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_REGION"] = REGION
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "jobline-bench")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "JoblineBench")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated database that exists for the length of the benchmark."""
    from jobline_dev.databases import scratch_database as _scratch

    with _scratch(POSTGRES_ADMIN_URL, prefix="jobline_bench") as url:
        yield url


@contextlib.contextmanager
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix of this run's own; its keys are deleted afterwards (the server is shared: never FLUSH)."""
    import redis

    prefix = f"jobline-bench-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        client.close()


class LambdaContext:
    """What the worker and Powertools read from a Lambda context."""

    def __init__(self, function_name: str = "jobline-bench", memory_mb: int = 1024, remaining_ms: int = 300_000):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


class LineCounter(io.TextIOBase):
    """A stream that keeps no text, only how many lines and characters went through it."""

    def __init__(self) -> None:
        self.lines = 0
        self.chars = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        self.chars += len(text)
        return len(text)


@dataclasses.dataclass
class Output:
    """What the code under test wrote: log lines (Powertools' logger) and printed lines (EMF metrics)."""

    log: LineCounter = dataclasses.field(default_factory=LineCounter)
    stdout: LineCounter = dataclasses.field(default_factory=LineCounter)


@contextlib.contextmanager
def captured_output(level: str = "INFO", *, metrics: bool = True) -> Iterator[Output]:
    """Run as deployed (template.yaml: log level INFO, EMF metrics on), with the lines counted instead of shown.

    Jobline's log lines and anything printed (Powertools prints EMF metrics to stdout) are still
    formatted and written, to a counter, so their cost stays in the figures; in Lambda they go to
    stdout and on to CloudWatch Logs. The package's quiet defaults come back afterwards.
    """
    from jobline.telemetry.observability import logger

    output = Output()
    handler = logger.logger_handler
    previous_stream = handler.setStream(output.log) if hasattr(handler, "setStream") else None
    previous_level = logger.log_level
    previous_metrics = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    logger.setLevel(level)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false" if metrics else "true"
    try:
        with contextlib.redirect_stdout(output.stdout):
            yield output
    finally:
        logger.setLevel(previous_level)
        if previous_stream is not None:
            handler.setStream(previous_stream)
        if previous_metrics is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = previous_metrics


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (0 < fraction <= 1) of `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclasses.dataclass
class Result:
    """One figure beside its baseline, as a row of bench/RESULTS.md."""

    bench: str
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline_value: float
    target: str = ""
    met: bool | None = None
    command: str = ""
    note: str = ""
    # How the ratio reads: value / baseline. "x" for a multiple, "%" for a share.
    ratio_unit: str = "x"

    @property
    def ratio(self) -> float | None:
        if not self.baseline_value:
            return None
        return self.value / self.baseline_value


def command(module: str, argv: Sequence[str] | None = None) -> str:
    """The command that reproduces this run (scale included)."""
    args = list(sys.argv[1:] if argv is None else argv)
    line = f"BENCH_SCALE={scale()} .venv/bin/python -m {module}"
    return line + (" " + shlex.join(args) if args else "")


def emit(results: Sequence[Result]) -> None:
    """Hand the results to the runner (if one is listening): JSON lines appended to $BENCH_RESULTS_JSON."""
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for result in results:
            out.write(json.dumps(dataclasses.asdict(result)) + "\n")


def read_results(path: str) -> list[Result]:
    """The results a benchmark appended to `path`."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as lines:
        return [Result(**json.loads(line)) for line in lines if line.strip()]


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ""
    with contextlib.suppress(OSError):
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load": load,
    }


def _number(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:,.2f}"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:,.1f}"
    else:
        text = f"{value:,.3g}"
    return f"{text} {unit}".strip()


def markdown_table(results: Sequence[Result]) -> str:
    """The results as a markdown table."""
    lines = [
        "| benchmark | figure | value | baseline | baseline value | ratio | target | met? | command |",
        "|---|---|---:|---|---:|---:|---|---|---|",
    ]
    for r in results:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x" if r.ratio >= 0.1 else f"{r.ratio:.2g}x"
        met = {True: "yes", False: "**no**", None: "-"}[r.met]
        name = r.name + (f" ({r.note})" if r.note else "")
        cells = [
            r.bench,
            name,
            _number(r.value, r.unit),
            r.baseline_name,
            _number(r.baseline_value, r.unit),
            ratio,
            r.target or "-",
            met,
            f"`{r.command}`" if r.command else "",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
