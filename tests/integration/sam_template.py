"""template.yaml as `sam deploy` would send it to CloudFormation, translated once per test process.

aws-sam-translator lives in the SAM CLI's environment (`.venv-sam`), whose pins must not decide the
application's, so the translation runs there (`dev/jobline_dev/sam_translate.py`) and comes back as JSON.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import pathlib
import subprocess
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
# The bucket the translated template's code and layer URIs point into.
ARTIFACTS = "jobline-rehearsal-artifacts"


@functools.cache
def _translated_json() -> str:
    if not SAM_PYTHON.exists():
        pytest.fail(
            f"{SAM_PYTHON} is missing: run `make sam-venv` (the SAM CLI's environment holds aws-sam-translator)"
        )
    run = subprocess.run(
        [str(SAM_PYTHON), str(ROOT / "dev/jobline_dev/sam_translate.py"), str(ROOT / "template.yaml"), ARTIFACTS],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return run.stdout


def translated_template() -> dict[str, Any]:
    """A fresh copy of the translated template (callers may change theirs)."""
    return copy.deepcopy(json.loads(_translated_json()))
