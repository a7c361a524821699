"""Row models (one per kind, validated row by row) and the bulk-upload job payloads, camelCase on the wire."""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from jobline.core.addresses import DOTTED_EMAIL_PATTERN

# Rows per upsert statement: each statement has a fixed cost (a round trip, and without
# TCP_NODELAY on pg8000's socket a delayed-ACK stall), which 1000 rows amortise, while an
# upload at the body limit (~2,500 rows) still reports progress in several steps.
DEFAULT_CHUNK_SIZE = 1_000
MAX_CHUNK_SIZE = 5_000
# The API's body limit caps an inline upload anyway; this only guards the job payload.
MAX_INLINE_ROWS = 20_000

# Loose, with a dot in the domain: this catches the typos a spreadsheet export makes.
_EMAIL = re.compile(DOTTED_EMAIL_PATTERN)


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("is not a valid e-mail address")
    # Lower-cased so that the natural key (organisation, email) is case-insensitive.
    return value.lower()


Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email)]


class UploadFormat(enum.StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class BulkKindName(enum.StrEnum):
    MECHANICS = "mechanics"
    SERVICE_PROVIDERS = "service-providers"
    POLICIES = "policies"


class RowModel(BaseModel):
    """One uploaded record. Field names are the table's column names; aliases are the wire names."""

    model_config = ConfigDict(
        populate_by_name=True,
        extra="ignore",  # a spreadsheet's extra columns are not the row's fault
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,  # a policy number typed as 1234 in JSON is still a policy number
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_cells_are_missing(cls, data: Any) -> Any:
        # A CSV has no null: an empty cell means "not given", so required fields say so.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v is None or (isinstance(v, str) and not v.strip()))}
        return data


class MechanicRow(RowModel):
    first_name: str = Field(alias="firstName", min_length=1, max_length=100)
    last_name: str = Field(alias="lastName", min_length=1, max_length=100)
    email: Email
    mobile_number: str | None = Field(
        default=None, alias="mobileNumber", max_length=32, pattern=r"^\+?[0-9][0-9 ()\-]{5,30}$"
    )


class ServiceProviderRow(RowModel):
    name: str = Field(min_length=1, max_length=200)
    email: Email


class PolicyRow(RowModel):
    policy_number: str = Field(alias="policyNumber", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w./-]*$")
    type: str = Field(min_length=1, max_length=50)


class S3Source(BaseModel):
    """An uploaded object under the organisation's `uploads/` prefix."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=1024)
    format: UploadFormat = UploadFormat.CSV


class BulkUploadPayload(BaseModel):
    """The bulk-upload job's data: the rows themselves, or an S3 object holding them (exactly one)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    rows: list[Any] | None = Field(default=None, max_length=MAX_INLINE_ROWS)
    source: S3Source | None = None
    chunk_size: int = Field(default=DEFAULT_CHUNK_SIZE, alias="chunkSize", ge=1, le=MAX_CHUNK_SIZE)

    @model_validator(mode="after")
    def _one_source(self) -> BulkUploadPayload:
        if (self.rows is None) == (self.source is None):
            raise ValueError("give either rows or source")
        return self


class FileProcessingPayload(BaseModel):
    """The process-file job's data: which uploaded object, its format, and optionally a kind to check rows against."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    key: str = Field(min_length=1, max_length=1024)
    format: UploadFormat = UploadFormat.CSV
    validate_as: BulkKindName | None = Field(default=None, alias="validateAs")
