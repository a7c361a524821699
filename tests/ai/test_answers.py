"""Parsing model answers: realistic Claude and Nova texts become results; anything else is a named failure."""

from __future__ import annotations

import pytest

from jobline.domains.ai import answers
from jobline.domains.ai.answers import DelayRiskAnswer, RecommendationsAnswer, RiskLevel
from jobline.domains.ai.bedrock import ModelAnswerInvalid

CATEGORY = "7d5e3f1c-9a0b-4c2d-8e6f-1a2b3c4d5e6f"

RECOMMENDATION_TEXTS = {
    "bare JSON": (
        '{"recommendations": [{"roomCategoryId": "' + CATEGORY + '", '
        '"reason": "Rooms are free next week at a fair price.", "score": 0.86}]}'
    ),
    "fenced, after a sentence": (
        "Here are my recommendations:\n\n```json\n"
        '{\n  "recommendations": [\n    {\n      "roomCategoryId": "' + CATEGORY + '",\n'
        '      "reason": "Rooms are free next week at a fair price.",\n      "score": 0.86\n    }\n  ]\n}\n```\n'
        "Let me know if you need anything else."
    ),
    "wrapped in prose without a fence": (
        'Based on availability: {"recommendations": [{"roomCategoryId": "' + CATEGORY + '", '
        '"reason": "Rooms are free next week at a fair price.", "score": 0.86, "rank": 1}]} '
        "I hope this helps."
    ),
}


@pytest.mark.parametrize("text", RECOMMENDATION_TEXTS.values(), ids=RECOMMENDATION_TEXTS.keys())
def test_parse_recommendations_finds_the_object_however_it_is_wrapped(text: str) -> None:
    parsed = answers.parse(RecommendationsAnswer, text)

    assert len(parsed.recommendations) == 1
    only = parsed.recommendations[0]
    assert (only.room_category_id, only.score) == (CATEGORY, 0.86)
    assert only.reason == "Rooms are free next week at a fair price."


def test_parse_delay_risk_reads_level_in_any_case_and_ignores_extra_fields() -> None:
    text = (
        '```json\n{"riskLevel": "Medium", "riskScore": 55, "expectedDelayMinutes": 25,\n'
        ' "reasons": ["Friday evening traffic leaving Istanbul", "Roadworks on the O-4 near Bolu"],\n'
        ' "confidence": "moderate"}\n```'
    )

    parsed = answers.parse(DelayRiskAnswer, text)

    assert parsed.risk_level is RiskLevel.MEDIUM
    assert (parsed.risk_score, parsed.expected_delay_minutes) == (55, 25)
    assert parsed.reasons[1] == "Roadworks on the O-4 near Bolu"


BAD_DELAY_RISKS = {
    "no JSON at all": ("I cannot predict traffic delays.", "holds no JSON object"),
    "a list, not an object": ('[{"riskLevel": "low"}]', "not an object"),
    "an unknown level": (
        '{"riskLevel": "severe", "riskScore": 90, "expectedDelayMinutes": 60, "reasons": ["storm"]}',
        "riskLevel",
    ),
    "a score out of range": (
        '{"riskLevel": "high", "riskScore": 140, "expectedDelayMinutes": 60, "reasons": ["storm"]}',
        "riskScore",
    ),
    "no reasons": ('{"riskLevel": "low", "riskScore": 5, "expectedDelayMinutes": 0, "reasons": []}', "reasons"),
    "a missing field": ('{"riskLevel": "low", "riskScore": 5, "reasons": ["clear roads"]}', "expectedDelayMinutes"),
    "truncated JSON": ('{"riskLevel": "low", "riskScore": 5, "expectedDel', "holds no JSON object"),
}


@pytest.mark.parametrize(("text", "named"), BAD_DELAY_RISKS.values(), ids=BAD_DELAY_RISKS.keys())
def test_parse_delay_risk_refuses_answers_that_do_not_fit_naming_the_fault(text: str, named: str) -> None:
    with pytest.raises(ModelAnswerInvalid, match=named):
        answers.parse(DelayRiskAnswer, text)


def test_parse_recommendations_refuses_a_score_above_one() -> None:
    text = '{"recommendations": [{"roomCategoryId": "x", "reason": "great", "score": 8}]}'

    with pytest.raises(ModelAnswerInvalid, match=r"recommendations\.0\.score"):
        answers.parse(RecommendationsAnswer, text)
