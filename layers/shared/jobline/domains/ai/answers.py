"""What the models are asked to answer, and the parsing of their text into it.

Models are told to answer one JSON object and nothing else; they still wrap it in a
Markdown fence or a sentence now and then, so the object is taken from where it stands.
Anything that is not the asked-for object is a ModelAnswerInvalid naming what was wrong.
"""

from __future__ import annotations

import enum
import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jobline.domains.ai.bedrock import ModelAnswerInvalid

MAX_RECOMMENDATIONS = 10
MAX_REASONS = 5
_FENCED = re.compile(r"```(?:json|JSON)?\s*(\{.*?\})\s*```", re.DOTALL)

Reason = Annotated[str, Field(min_length=1, max_length=500)]


class RiskLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class _Answer(BaseModel):
    # Models add fields of their own now and then; those are ignored, not a failure.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Recommendation(_Answer):
    """One package (room category) the model recommends, why, and how well it fits (0 to 1)."""

    room_category_id: str = Field(alias="roomCategoryId", min_length=1, max_length=64)
    reason: Reason
    score: float = Field(ge=0, le=1)


class RecommendationsAnswer(_Answer):
    recommendations: list[Recommendation] = Field(max_length=MAX_RECOMMENDATIONS)


class DelayRiskAnswer(_Answer):
    """A delay risk: its level, a score from 0 (none) to 100 (certain), the expected delay and why."""

    risk_level: RiskLevel = Field(alias="riskLevel")
    risk_score: int = Field(alias="riskScore", ge=0, le=100)
    expected_delay_minutes: int = Field(alias="expectedDelayMinutes", ge=0, le=24 * 60)
    reasons: list[Reason] = Field(min_length=1, max_length=MAX_REASONS)

    @field_validator("risk_level", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


def json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's text: all of it, a fenced block, or the outermost braces."""
    try:
        whole = json.loads(text)
    except ValueError:
        pass
    else:
        if isinstance(whole, dict):
            return whole
        raise ModelAnswerInvalid(f"the model's answer is JSON but not an object: {_excerpt(text)}")
    candidates = _FENCED.findall(text)
    first, last = text.find("{"), text.rfind("}")
    if 0 <= first < last:
        candidates.append(text[first : last + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise ModelAnswerInvalid(f"the model's answer holds no JSON object: {_excerpt(text)}")


def parse[A: BaseModel](model: type[A], text: str) -> A:
    """The model's text as `model`; ModelAnswerInvalid naming the fields at fault otherwise."""
    value = json_object(text)
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'answer'}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise ModelAnswerInvalid(f"the model's answer is not the expected {model.__name__}: {problems}") from None


def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else f"{flat[:limit]}…")
