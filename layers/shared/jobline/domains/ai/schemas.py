"""The AI jobs' payloads, checked at enqueue so a bad request is a 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from jobline.core.clock import shown_in_utc

# Printable text without control characters: it goes into a prompt, and a newline there
# could pass for an instruction of our own.
_ONE_LINE = r"^[^\x00-\x1f\x7f]+$"
Place = Annotated[str, Field(min_length=1, max_length=100, pattern=_ONE_LINE)]


class RecommendationOptions(BaseModel):
    """How to answer: the language of the reasons (a BCP 47 tag), and how many packages at most."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(default="en", pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)
    limit: int = Field(default=3, ge=1, le=10)


class PackageRecommendations(BaseModel):
    """`{userId, options: {language}}`: which of the tenant's packages (room categories) to offer this user."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    user_id: str = Field(alias="userId", min_length=1, max_length=128, pattern=_ONE_LINE)
    options: RecommendationOptions = Field(default_factory=RecommendationOptions)


class DelayRisk(BaseModel):
    """`{origin, destination, scheduledTime}`: how likely a transfer on this route at this time runs late."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    origin: Place
    destination: Place
    scheduled_time: Annotated[dt.datetime, AfterValidator(shown_in_utc)] = Field(alias="scheduledTime")
