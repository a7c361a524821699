"""The README's walkthrough, run as written against `python -m jobline_dev.local`, each answer checked.

The walkthrough's `sh` blocks run in one bash, in order, from the repository root; a `json`
block right after one is the answer its output must match (`"…"` matches any value; objects
may carry more keys). Blocks after a `<!-- readme-test: skip ... -->` line are not run. The
only change to the commands: the stack listens on a free port instead of 3000.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import ROOT, StackProcess
from tests.e2e.support import matches

README = ROOT / "README.md"
SECTION = "## Walkthrough"
DOCUMENTED_URL = "http://127.0.0.1:3000"
SKIP = "<!-- readme-test: skip"
_FENCE = re.compile(r"^(?P<skip><!-- readme-test: skip[^\n]*-->\n)?```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.M | re.S)
MARK = "@@readme-step-"
# What a reader's shell would not have: a parent make's variables turn on make's directory lines.
_SCRUBBED = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "JOBLINE_JWT_SECRET", "JOBLINE_STAGE")


@dataclasses.dataclass
class Step:
    command: str
    answer: Any = None


def walkthrough(text: str) -> list[Step]:
    """The walkthrough section's runnable steps, each with the documented answer that follows it."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end != -1 else len(text)]
    steps: list[Step] = []
    for fence in _FENCE.finditer(section):
        if fence["skip"]:
            continue
        if fence["lang"] == "sh":
            steps.append(Step(fence["body"]))
        elif fence["lang"] == "json":
            assert steps and steps[-1].answer is None, f"an answer without its command: {fence['body'][:80]}"
            steps[-1].answer = json.loads(fence["body"])
    return steps


def test_the_walkthrough_parses_into_commands_with_answers() -> None:
    steps = walkthrough(README.read_text())

    assert len([s for s in steps if s.answer is not None]) >= 4
    assert all(DOCUMENTED_URL in s.command for s in steps if s.answer is not None)
    assert not any("git clone" in s.command or "make local" in s.command for s in steps)


def test_readme_walkthrough_gives_the_documented_answers(stack_process: Callable[..., StackProcess]) -> None:
    child = stack_process()
    steps = walkthrough(README.read_text())
    script = ["set -euo pipefail"]
    for number, step in enumerate(steps):
        # On a line of its own: curl's answers end without a newline.
        script += [f"printf '\\n{MARK}{number}\\n'", step.command.replace(DOCUMENTED_URL, child.url)]
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}

    run = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert run.returncode == 0, f"the walkthrough failed:\n{run.stdout}\n{run.stderr}"
    outputs = re.split(rf"^{MARK}\d+\n", run.stdout, flags=re.M)[1:]
    assert len(outputs) == len(steps)
    for step, output in zip(steps, outputs, strict=True):
        if step.answer is None:
            continue
        problems = matches(step.answer, json.loads(output))
        assert not problems, f"{step.command}\nanswered {output}\n" + "\n".join(problems)
    assert child.interrupt() == 0
