"""One call to a text model on Amazon Bedrock (`bedrock-runtime` InvokeModel), and the text it answered.

InvokeModel rather than Converse: its request body is the model family's own, but it is the
call moto (the tests' and the local stack's AWS) serves. Two families are spoken: Anthropic
Claude (the Messages API) and Amazon Nova (messages-v1); the model id says which.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

import boto3
from botocore.config import Config

from jobline.config import Settings
from jobline.core.errors import JoblineError, UnrecoverableError

# The ai queue's jobs have 60 s. A model call gets at most 5 s to connect and 45 s for its
# answer, and botocore does not retry it: the job's own attempts (with backoff) do, so one
# slow call can never outlive the attempt that made it.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 45
_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "total_max_attempts": 1},
)
ANTHROPIC_VERSION = "bedrock-2023-05-31"
MAX_ANSWER_TOKENS = 1_024
# Low: the jobs want a structured verdict, not variety.
TEMPERATURE = 0.2


class ModelAnswerInvalid(JoblineError):
    """The model answered something the job cannot use (no text, cut short, not the JSON asked for).

    An ordinary failure, so the queue's attempts try again: a model may well answer
    properly the next time. The message says what was wrong, for the job's failedReason.
    """


class UnsupportedModel(UnrecoverableError):
    """The configured model id is of a family whose request body this module does not write."""


@dataclasses.dataclass(frozen=True)
class ModelAnswer:
    """The model's text, why it stopped, and the tokens it read and wrote (when the model says)."""

    text: str
    stop_reason: str | None
    input_tokens: int | None = None
    output_tokens: int | None = None


def _family(model_id: str) -> str:
    # Inference profile ids carry a geography first: `us.anthropic.claude-…`, `eu.amazon.nova-…`.
    if "anthropic." in model_id:
        return "anthropic"
    if "amazon.nova" in model_id:
        return "nova"
    raise UnsupportedModel(f"model {model_id!r} is neither an Anthropic Claude nor an Amazon Nova model")


def request_body(model_id: str, *, system: str, prompt: str) -> dict[str, Any]:
    """The InvokeModel body that asks `model_id` the prompt, with the system instructions."""
    if _family(model_id) == "anthropic":
        return {
            "anthropic_version": ANTHROPIC_VERSION,
            "max_tokens": MAX_ANSWER_TOKENS,
            "temperature": TEMPERATURE,
            "system": system,
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        }
    return {
        "schemaVersion": "messages-v1",
        "system": [{"text": system}],
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "inferenceConfig": {"maxTokens": MAX_ANSWER_TOKENS, "temperature": TEMPERATURE},
    }


def read_answer(model_id: str, body: Any) -> ModelAnswer:
    """The text of an InvokeModel response body; ModelAnswerInvalid if it has none or was cut short."""
    if not isinstance(body, dict):
        raise ModelAnswerInvalid("the model's response is not a JSON object")
    if _family(model_id) == "anthropic":
        parts = body.get("content")
        stop = body.get("stop_reason")
        usage = body.get("usage") or {}
        tokens_in, tokens_out = usage.get("input_tokens"), usage.get("output_tokens")
    else:
        parts = ((body.get("output") or {}).get("message") or {}).get("content")
        stop = body.get("stopReason")
        usage = body.get("usage") or {}
        tokens_in, tokens_out = usage.get("inputTokens"), usage.get("outputTokens")
    texts = [p["text"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]
    text = "".join(texts).strip()
    if not text:
        raise ModelAnswerInvalid("the model's response holds no text")
    if stop in ("max_tokens", "length"):
        raise ModelAnswerInvalid(f"the model's answer was cut short at {MAX_ANSWER_TOKENS} tokens")
    return ModelAnswer(
        text=text,
        stop_reason=stop if isinstance(stop, str) else None,
        input_tokens=tokens_in if isinstance(tokens_in, int) else None,
        output_tokens=tokens_out if isinstance(tokens_out, int) else None,
    )


@functools.lru_cache(maxsize=4)
def _client(endpoint_url: str | None) -> Any:
    return boto3.client("bedrock-runtime", endpoint_url=endpoint_url, config=_CONFIG)


def client(settings: Settings) -> Any:
    """The bedrock-runtime client (the local AWS emulation's when one is configured), made once."""
    return _client(settings.aws_endpoint_url)


def ask(bedrock: Any, *, model_id: str, system: str, prompt: str) -> ModelAnswer:
    """Ask the model once and return its answer's text."""
    response = bedrock.invoke_model(
        modelId=model_id,
        contentType="application/json",
        accept="application/json",
        body=json.dumps(request_body(model_id, system=system, prompt=prompt)),
    )
    raw = response["body"].read()
    try:
        body = json.loads(raw)
    except ValueError:
        raise ModelAnswerInvalid("the model's response is not JSON") from None
    return read_answer(model_id, body)
