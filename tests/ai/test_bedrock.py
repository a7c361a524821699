"""The Bedrock call's request bodies and response reading, per model family."""

from __future__ import annotations

import pytest

from jobline.core.errors import UnrecoverableError
from jobline.domains.ai import bedrock
from jobline.domains.ai.bedrock import ModelAnswerInvalid, UnsupportedModel

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
NOVA = "us.amazon.nova-micro-v1:0"


def test_request_body_for_claude_is_the_messages_api() -> None:
    body = bedrock.request_body(CLAUDE, system="be brief", prompt="hello")

    assert body["anthropic_version"] == "bedrock-2023-05-31"
    assert body["system"] == "be brief"
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]
    assert body["max_tokens"] == bedrock.MAX_ANSWER_TOKENS


def test_request_body_for_a_nova_inference_profile_is_messages_v1() -> None:
    body = bedrock.request_body(NOVA, system="be brief", prompt="hello")

    assert body["system"] == [{"text": "be brief"}]
    assert body["messages"] == [{"role": "user", "content": [{"text": "hello"}]}]
    assert body["inferenceConfig"]["maxTokens"] == bedrock.MAX_ANSWER_TOKENS


def test_read_answer_joins_claude_text_blocks_and_keeps_usage() -> None:
    body = {
        "content": [{"type": "text", "text": '{"a": '}, {"type": "text", "text": "1}"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 4},
    }

    answer = bedrock.read_answer(CLAUDE, body)

    assert (answer.text, answer.stop_reason, answer.input_tokens, answer.output_tokens) == (
        '{"a": 1}',
        "end_turn",
        10,
        4,
    )


def test_read_answer_reads_nova_output_message() -> None:
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": "{}"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 7, "outputTokens": 2},
    }

    answer = bedrock.read_answer(NOVA, body)

    assert (answer.text, answer.input_tokens) == ("{}", 7)


@pytest.mark.parametrize(
    ("model_id", "body", "named"),
    [
        (CLAUDE, {}, "holds no text"),
        (CLAUDE, {"content": [{"type": "text", "text": "  "}]}, "holds no text"),
        (CLAUDE, {"content": [{"type": "text", "text": '{"a":'}], "stop_reason": "max_tokens"}, "cut short"),
        (NOVA, {"output": {"message": {"content": [{"text": "{"}]}}, "stopReason": "max_tokens"}, "cut short"),
        (NOVA, ["not", "an", "object"], "not a JSON object"),
    ],
)
def test_read_answer_without_usable_text_is_a_model_answer_failure(model_id: str, body: object, named: str) -> None:
    with pytest.raises(ModelAnswerInvalid, match=named):
        bedrock.read_answer(model_id, body)


def test_an_unsupported_model_family_fails_the_job_without_retries() -> None:
    with pytest.raises(UnsupportedModel) as raised:
        bedrock.request_body("meta.llama3-8b-instruct-v1:0", system="s", prompt="p")

    assert isinstance(raised.value, UnrecoverableError)
