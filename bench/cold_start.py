"""Cold start of each handler (functions/*/app.py): a fresh interpreter importing the handler module and
building what its first invocation needs (`get_runtime()`: the job store and the boto3 clients), beside a
fresh interpreter doing `import boto3; boto3.client("sqs", region_name=...)`, in the same run.

    .venv/bin/python -m bench.cold_start [--runs 15] [--functions api room_worker ...] [--no-tracing]
        [--no-importtime] [--top 12]

Each run is a new `.venv/bin/python` with the environment a deployed function gets (template.yaml's
Globals: store dynamodb, log level INFO, tracing Active, so Powertools' Tracer loads and patches the X-Ray
SDK as it does in Lambda; `--no-tracing` turns that off) and fake credentials; nothing is called over the
network. The figure is the time from spawning the interpreter to the handler being ready (the child
reports and leaves with `os._exit`, so interpreter teardown is not counted, as Lambda never pays it),
median of --runs runs, interleaved across functions. One more run per function under `python -X
importtime` gives the biggest import costs: self time by top-level package, and the third-party imports
each Jobline module pulls in (cumulative, first import wins).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import time
from typing import Any

from bench import common

ROOT = pathlib.Path(__file__).resolve().parents[1]
FUNCTIONS = ("api", "room_worker", "notifier", "task_worker", "waitlist_worker", "cleanup")
BASELINE = "baseline"
TARGET_RATIO = 1.5

# Run in the child: import the handler from its file as Lambda does, then make the runtime.
HANDLER_SCRIPT = """
import importlib.util, json, os, resource, sys, time
sys.stderr.write("bench: script starts\\n")
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
imported = time.perf_counter()
from jobline.runtime import get_runtime
get_runtime()
ready = time.perf_counter()
print(json.dumps({"import": imported - started, "init": ready - imported,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)
os._exit(0)
"""

BASELINE_SCRIPT = """
import json, os, resource, sys, time
sys.stderr.write("bench: script starts\\n")
started = time.perf_counter()
import boto3
imported = time.perf_counter()
boto3.client("sqs", region_name="us-east-1")
ready = time.perf_counter()
print(json.dumps({"import": imported - started, "init": ready - imported,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)
os._exit(0)
"""


def child_environment(function: str, *, tracing: bool) -> dict[str, str]:
    """What Lambda gives a deployed function (template.yaml's Globals and the function's own), offline."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": common.REGION,
            "AWS_DEFAULT_REGION": common.REGION,
            "AWS_LAMBDA_FUNCTION_NAME": f"jobline-{function}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "LAMBDA_TASK_ROOT": str(ROOT / "functions" / function),
            "JOBLINE_STORE": "dynamodb",
            "JOBLINE_TABLE": "jobline-dev-JobsTable",
            "JOBLINE_QUEUE_PREFIX": "jobline-dev-",
            "JOBLINE_BUCKET": "jobline-dev-payloads",
            "JOBLINE_STAGE": "dev",
            "JOBLINE_EVENT_BUS": "default",
            "POWERTOOLS_SERVICE_NAME": function,
            "POWERTOOLS_METRICS_NAMESPACE": "Jobline",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "LOG_LEVEL": "INFO",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if not tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def command_for(function: str, *, importtime: bool = False) -> list[str]:
    python = [sys.executable, *(["-X", "importtime"] if importtime else [])]
    if function == BASELINE:
        return [*python, "-c", BASELINE_SCRIPT]
    return [*python, "-c", HANDLER_SCRIPT, str(ROOT / "functions" / function / "app.py")]


@dataclasses.dataclass
class Sample:
    ready: float  # spawn to ready, seconds
    imported: float  # in the child: the import
    init: float  # in the child: get_runtime() / boto3.client
    rss_mb: float


def run_once(function: str, *, tracing: bool) -> Sample:
    """One fresh interpreter: seconds from spawn to ready, and the child's own split."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command_for(function),
        env=child_environment(function, tracing=tracing),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    ready = time.perf_counter() - started
    _, err = child.communicate(timeout=120)
    if not line:
        raise RuntimeError(f"{function} did not start:\n{err[-3000:]}")
    report = json.loads(line)
    return Sample(ready, report["import"], report["init"], report["rss_kb"] / 1024)


# ---------------------------------------------------------------------------------------------- importtime


@dataclasses.dataclass
class Node:
    name: str
    self_us: int
    cumulative_us: int
    children: list[Node]


def import_tree(stderr: str) -> list[Node]:
    """`-X importtime` lines (children before their parent, indented by depth) as a tree of roots."""
    pending: dict[int, list[Node]] = collections.defaultdict(list)
    # Only what the script imports: the interpreter's own start-up (site, encodings, ...) is the same for all.
    _, _, stderr = stderr.partition("bench: script starts\n")
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:") :].split("|", 2)
        # "| name" at the top, two more spaces per level below.
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        node = Node(name.strip(), int(self_us), int(cumulative_us), pending.pop(depth + 1, []))
        pending[depth].append(node)
    return [node for nodes in pending.values() for node in nodes]


def _walk(nodes: list[Node], parent: str = "") -> Any:
    for node in nodes:
        yield node, parent
        yield from _walk(node.children, node.name)


def _ours(name: str) -> bool:
    return name == "app" or name.startswith("jobline")


def import_costs(
    function: str, *, tracing: bool
) -> tuple[list[tuple[str, float]], list[tuple[str, str, float]], float]:
    """(self ms by top-level package, [(third-party module, the Jobline module importing it, cumulative ms)], total)."""
    child = subprocess.run(
        command_for(function, importtime=True),
        env=child_environment(function, tracing=tracing),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    roots = import_tree(child.stderr)
    by_package: collections.Counter[str] = collections.Counter()
    pulled: list[tuple[str, str, float]] = []
    for node, parent in _walk(roots):
        by_package[node.name.split(".")[0]] += node.self_us / 1000
        if not _ours(node.name) and (_ours(parent) or parent == ""):
            pulled.append((node.name, parent or "(the entry script)", node.cumulative_us / 1000))
    total = sum(node.cumulative_us for node in roots) / 1000
    pulled.sort(key=lambda item: item[2], reverse=True)
    return by_package.most_common(), pulled, total


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> list[common.Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=common.by_scale(1, 5, 15))
    parser.add_argument(
        "--functions", nargs="+", choices=FUNCTIONS, default=common.by_scale(["api"], list(FUNCTIONS), list(FUNCTIONS))
    )
    parser.add_argument("--tracing", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--importtime", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--top", type=int, default=common.by_scale(5, 10, 12))
    args = parser.parse_args(argv)
    cmd = common.command("bench.cold_start", argv)
    targets = [BASELINE, *args.functions]
    samples: dict[str, list[Sample]] = collections.defaultdict(list)
    # Round-robin: every target sees the same machine load, run after run.
    for _ in range(args.runs):
        for target in targets:
            samples[target].append(run_once(target, tracing=args.tracing))
    tracing = "tracing Active (X-Ray SDK loaded and patched)" if args.tracing else "tracing off"
    print(f"cold start: spawn to ready, median of {args.runs} fresh interpreters each, {tracing}")

    def med(target: str, field: str) -> float:
        return common.median([getattr(s, field) for s in samples[target]])

    base = med(BASELINE, "ready")
    base_inner = med(BASELINE, "imported") + med(BASELINE, "init")
    print(
        f"  {'baseline: import boto3; boto3.client(sqs)':44} {base * 1000:7.0f} ms"
        f"  (in process {base_inner * 1000:5.0f} ms: import {med(BASELINE, 'imported') * 1000:.0f}"
        f" + client {med(BASELINE, 'init') * 1000:.0f}; max RSS {med(BASELINE, 'rss_mb'):.0f} MB)"
    )
    results = []
    for function in args.functions:
        ready = med(function, "ready")
        imported, init = med(function, "imported"), med(function, "init")
        ratio = ready / base
        print(
            f"  {'functions/' + function + '/app.py':44} {ready * 1000:7.0f} ms"
            f"  (in process {(imported + init) * 1000:5.0f} ms: import {imported * 1000:.0f}"
            f" + get_runtime {init * 1000:.0f}; max RSS {med(function, 'rss_mb'):.0f} MB)  {ratio:.2f}x baseline"
        )
        results.append(
            common.Result(
                bench="cold_start",
                name=f"cold start, {function}",
                value=ready * 1000,
                unit="ms",
                baseline_name="import boto3; boto3.client('sqs')",
                baseline_value=base * 1000,
                target=f"<= {TARGET_RATIO}x baseline",
                met=ratio <= TARGET_RATIO,
                command=cmd,
                note=f"median of {args.runs}",
            )
        )
    if args.importtime:
        print(f"\n  biggest import costs (python -X importtime, one run each, {tracing}):")
        for target in targets:
            packages, pulled, total = import_costs(target, tracing=args.tracing)
            print(f"  {target}: {total:.0f} ms of imports")
            print("    self time by top-level package: " + ", ".join(f"{p} {ms:.0f}" for p, ms in packages[: args.top]))
            print("    third-party imports pulled in by Jobline code (cumulative ms, importer):")
            for name, importer, ms in pulled[: args.top]:
                print(f"      {ms:7.1f}  {name:44} <- {importer}")
    common.emit(results)
    return results


if __name__ == "__main__":
    main()
