"""Run every benchmark, each in a fresh interpreter, and write their figures beside their baselines to
bench/RESULTS.md (`make bench`).

    BENCH_SCALE=quick|full .venv/bin/python -m bench [worker_throughput api_latency ...]
        [--output bench/RESULTS.md] [--parallel]

Each benchmark's own output (profiles, censuses, import costs) is shown as it runs and kept in the
markdown under the table; the figures also go to RESULTS.json beside it. Naming some benchmarks re-runs
those only: the others' last figures at the same scale are kept. `--parallel` runs them all at once,
for the smoke test only, since benchmarks sharing two CPUs measure each other.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

from bench import common

BENCHES = (
    "worker_throughput",
    "api_latency",
    "aws_requests",
    "cold_start",
    "room_generation",
    "bulk_upload",
    "export",
)
ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "bench" / "RESULTS.md"


@dataclasses.dataclass
class Run:
    name: str
    returncode: int
    seconds: float
    output: str
    results: list[common.Result]
    began: str = ""
    load: str = ""  # load average before / after
    code: str = ""
    scale: str = ""

    def to_json(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "results": [dataclasses.asdict(r) for r in self.results]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Run:
        results = [common.Result(**r) for r in data.pop("results")]  # type: ignore[attr-defined]
        return cls(**data, results=results)  # type: ignore[arg-type]


def start(name: str, results_path: str, *, echo: bool) -> tuple[subprocess.Popen[str], list[str], threading.Thread]:
    """Start one benchmark; its output is collected (and echoed) by a thread."""
    env = {**os.environ, "BENCH_SCALE": common.scale(), common.RESULTS_ENV: results_path, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            if echo:
                sys.stdout.write(line)
                sys.stdout.flush()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return child, lines, thread


def run_all(names: list[str], *, parallel: bool) -> list[Run]:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="jobline-bench-") as folder:
        started: dict[str, tuple[subprocess.Popen[str], list[str], threading.Thread, float, dict[str, str]]] = {}
        code = code_state()

        def finish(name: str) -> None:
            child, lines, thread, began, context = started.pop(name)
            child.wait()
            thread.join()
            results = common.read_results(os.path.join(folder, f"{name}.jsonl"))
            seconds = time.perf_counter() - began
            context["load"] += f" / {common.machine()['load']}"
            runs.append(Run(name, child.returncode, seconds, "".join(lines), results, **context))
            print(f"== bench.{name}: exit {child.returncode}, {runs[-1].seconds:.0f} s, {len(results)} figures\n")

        for name in names:
            if not parallel:
                print(f"== bench.{name} (BENCH_SCALE={common.scale()})", flush=True)
            context = {"began": common.utc_now(), "load": common.machine()["load"], "code": code}
            context["scale"] = common.scale()
            child, lines, thread = start(name, os.path.join(folder, f"{name}.jsonl"), echo=not parallel)
            started[name] = (child, lines, thread, time.perf_counter(), context)
            if not parallel:
                finish(name)
        for name in list(started):
            finish(name)
    runs.sort(key=lambda run: names.index(run.name))
    return runs


def code_state() -> str:
    """The commit measured, and the files of the measured code that differ from it (read-only git calls)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
            ).stdout.rstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = git("status", "--porcelain", "--", "layers/shared", "functions").splitlines()
    if not changed:
        return f"commit {commit}"
    files = ", ".join(line[3:].removeprefix("layers/shared/") for line in changed)
    return f"commit {commit} plus uncommitted changes to {files}"


def markdown(runs: list[Run], *, parallel: bool) -> str:
    info = common.machine()
    scales = sorted({run.scale for run in runs})
    codes = sorted({run.code for run in runs})
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`BENCH_SCALE={'/'.join(scales)} .venv/bin/python -m bench`); each benchmark's"
        " run date and machine load are under its output below.",
        "",
        f"- machine: {info['cpus']} CPUs ({info['cpu']}), Python {info['python']}, {info['platform']}",
        f"- code: {'; '.join(codes)}",
        "- every figure is measured beside its baseline in the same process and run; ratio = figure / baseline",
        "- the machine is shared: other work running meanwhile slows the figures (see each run's load average)",
    ]
    if parallel:
        lines.append("- **run in parallel (smoke test): the figures measure nothing**")
    lines += ["", common.markdown_table([r for run in runs for r in run.results]), ""]
    failed = [run for run in runs if run.returncode != 0]
    if failed:
        lines += ["**Failed:** " + ", ".join(f"`bench.{run.name}` (exit {run.returncode})" for run in failed), ""]
    lines += ["## Each benchmark's output", ""]
    for run in runs:
        lines += [
            f"<details><summary><code>bench.{run.name}</code>: {run.began}, {run.seconds:.0f} s,"
            f" load average {run.load}</summary>",
            "",
            "```text",
            run.output.rstrip(),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines)


def previous_runs(path: pathlib.Path) -> list[Run]:
    """The runs recorded beside the markdown last time (none if there is no readable record)."""
    try:
        return [Run.from_json(run) for run in json.loads(path.read_text())["runs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="bench", help=f"any of {', '.join(BENCHES)} (default: all)")
    parser.add_argument(
        "--output", type=pathlib.Path, default=DEFAULT_OUTPUT, help="the markdown to write; its record goes beside it"
    )
    parser.add_argument("--parallel", action="store_true", help="all at once (smoke test only: figures meaningless)")
    args = parser.parse_args(argv)
    names = list(args.names) or list(BENCHES)
    if unknown := set(names) - set(BENCHES):
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
    record = args.output.with_suffix(".json")
    runs = run_all(names, parallel=args.parallel)
    # Running some benchmarks refreshes their rows; the others' last runs (at this scale) stay.
    kept = [run for run in previous_runs(record) if run.name not in names and run.scale == common.scale()]
    runs = sorted([*kept, *runs], key=lambda run: BENCHES.index(run.name))
    args.output.write_text(markdown(runs, parallel=args.parallel) + "\n")
    record.write_text(json.dumps({"runs": [run.to_json() for run in runs]}, indent=2) + "\n")
    print(common.markdown_table([r for run in runs for r in run.results]))
    print(f"\nwrote {args.output} and {record}")
    return 0 if all(run.returncode == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
