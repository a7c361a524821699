"""AI job fixtures: a runtime on moto and the session's Postgres, and a Bedrock model that answers as told.

moto serves bedrock-runtime's InvokeModel but answers every call with an empty JSON object.
`model` stands a model's answer in for that (the one thing nothing local can produce) and
keeps each request body moto received, so tests see the prompt the job really sent.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

import jobline.domains.ai.jobs  # noqa: F401 - registers the job types the tests run
from jobline.runtime import Runtime
from jobline_dev.support import make_runtime


@pytest.fixture
def rt(aws, memory_store, database_url) -> Iterator[Runtime]:
    """A runtime on moto (SQS, S3, Bedrock) and the session's Postgres, with the in-memory job store."""
    runtime = make_runtime(memory_store, database_url=database_url)
    yield runtime
    runtime.engine.dispose()


@dataclasses.dataclass
class ScriptedModel:
    """The answers moto's Bedrock gives, in turn (the last one repeats), and the requests it got."""

    answers: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    requests: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    model_ids: list[str] = dataclasses.field(default_factory=list)

    def says(self, *texts: str, stop_reason: str = "end_turn") -> None:
        """Answer each call with the next text, as Claude's Messages API answers."""
        self.answers = [anthropic_answer(text, stop_reason=stop_reason) for text in texts]

    def prompt(self, call: int = -1) -> str:
        """The user message of a call, as sent."""
        return str(self.requests[call]["messages"][0]["content"][0]["text"])

    def invoke_model(self, backend: Any, payload: dict[str, Any], model_id: str) -> dict[str, Any]:
        self.requests.append(payload)
        self.model_ids.append(model_id)
        return self.answers[min(len(self.requests), len(self.answers)) - 1] if self.answers else {}


def anthropic_answer(text: str, *, stop_reason: str = "end_turn") -> dict[str, Any]:
    """A Messages API response body, as Claude on Bedrock returns it."""
    return {
        "id": "msg_bdrk_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-haiku-20240307",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 412, "output_tokens": 96},
    }


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    """moto's Bedrock model, scripted; unscripted it answers `{}` as moto does."""
    from moto.bedrockruntime.models import BedrockRuntimeBackend

    scripted = ScriptedModel()

    def invoke_model(backend: Any, payload: dict[str, Any], model_id: str) -> dict[str, Any]:
        return scripted.invoke_model(backend, payload, model_id)

    monkeypatch.setattr(BedrockRuntimeBackend, "invoke_model", invoke_model)
    return scripted


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
