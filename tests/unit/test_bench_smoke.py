"""The benchmarks still run: every one, at the smallest scale, through `python -m bench` (the runner
`make bench` uses), each printing its figures beside its baselines. Speed is not asserted here.

The benchmarks run in their own interpreters, side by side to keep this short; they need the same
Postgres and Redis as the rest of the suite (their keys and databases are their own).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCHES = (
    "worker_throughput",
    "api_latency",
    "aws_requests",
    "cold_start",
    "room_generation",
    "bulk_upload",
    "export",
)


def run_benchmarks(folder: pathlib.Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str]:
    """Every benchmark at BENCH_SCALE=smoke through the runner: its result, its JSON by benchmark, its markdown."""
    markdown, figures = folder / "RESULTS.md", folder / "RESULTS.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--parallel", "--output", str(markdown)],
        cwd=ROOT,
        env={**os.environ, "BENCH_SCALE": "smoke"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert figures.exists(), completed.stdout[-4000:] + completed.stderr[-4000:]
    runs = {run["name"]: run for run in json.loads(figures.read_text())["runs"]}
    return completed, runs, markdown.read_text()


# One test, not one per benchmark: under xdist each worker would run them all again.
def test_bench_smoke_scale_every_benchmark_prints_figures_beside_baselines(tmp_path: pathlib.Path) -> None:
    completed, runs, markdown = run_benchmarks(tmp_path)
    output = completed.stdout[-6000:] + completed.stderr[-3000:]
    assert sorted(runs) == sorted(BENCHES), output
    for bench in BENCHES:
        run = runs[bench]
        assert run["returncode"] == 0, f"bench.{bench} failed:\n{output}"
        assert run["results"], f"bench.{bench} reported no figures"
        for result in run["results"]:
            assert result["value"] > 0, result
            assert result["baseline_value"] > 0, result
            assert result["baseline_name"], result
            assert "BENCH_SCALE=smoke" in result["command"], result
        assert f"| {bench} |" in markdown, bench
    assert "| benchmark | figure | value | baseline | baseline value | ratio | target | met? | command |" in markdown
    assert "CPUs" in markdown and "Python" in markdown
    assert completed.returncode == 0, output
