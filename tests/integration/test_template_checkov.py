"""checkov over template.yaml: no failed check, and every skipped one carries its reason in the
template (a resource's `Metadata.checkov.skip[].comment`)."""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def checkov_results() -> dict:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make checkov-venv` (make test builds it)")
    ran = subprocess.run(
        [str(CHECKOV), "--file", str(ROOT / "template.yaml"), "--framework", "cloudformation", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    report = json.loads(ran.stdout)
    assert report["summary"]["parsing_errors"] == 0, ran.stderr[-2000:]
    return report["results"]


def test_no_check_fails(checkov_results: dict) -> None:
    failed = [(c["check_id"], c["resource"], c["check_name"]) for c in checkov_results["failed_checks"]]
    assert failed == []


def test_every_skip_says_why(checkov_results: dict) -> None:
    unexplained = [
        (c["check_id"], c["resource"])
        for c in checkov_results["skipped_checks"]
        if len((c["check_result"].get("suppress_comment") or "").strip()) < 40
    ]
    assert checkov_results["skipped_checks"], "checkov reported no skip at all: is the template's Metadata read?"
    assert unexplained == []
