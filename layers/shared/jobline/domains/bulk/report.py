"""Per-row validation and the upload's error report: the first errors in the result, all of them in S3 beyond that."""

from __future__ import annotations

import csv
import io
from typing import Any

from pydantic import ValidationError

from jobline.domains.bulk.schemas import RowModel
from jobline.domains.bulk.sources import Malformed
from jobline.domains.exports.multipart import S3ObjectWriter
from jobline.telemetry.observability import logger

# The result lives in the job record (DynamoDB allows 400 KB an item, with the payload):
# this many errors go in it, and a larger report goes to S3 as CSV.
MAX_RESULT_ERRORS = 200
MAX_MESSAGE_CHARS = 200
REPORT_HEADER = ("row", "field", "message")


def row_errors(row: int, value: Any, model: type[RowModel]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The row as table columns, or the errors naming its fields (`field` is None for the row as a whole)."""
    if isinstance(value, Malformed):
        return None, [{"row": row, "field": None, "message": value.message}]
    if not isinstance(value, dict):
        return None, [{"row": row, "field": None, "message": "a row must be an object"}]
    try:
        return model.model_validate(value).model_dump(), []
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False, include_context=False, include_input=False):
            field = ".".join(str(part) for part in error["loc"]) or None
            message = str(error["msg"]).removeprefix("Value error, ")  # pydantic's prefix for our own checks
            errors.append({"row": row, "field": field, "message": message[:MAX_MESSAGE_CHARS]})
        return None, errors


def _cells(error: dict[str, Any]) -> tuple[Any, ...]:
    return error["row"], error["field"] or "", error["message"]


class ErrorReport:
    """Collects row errors: keeps the first MAX_RESULT_ERRORS, streams every one to S3 once there are more."""

    def __init__(self, s3: Any, *, bucket: str, key: str, limit: int = MAX_RESULT_ERRORS) -> None:
        self._s3 = s3
        self._bucket = bucket
        self.key = key
        self._limit = limit
        self.kept: list[dict[str, Any]] = []
        self.count = 0
        self._writer: S3ObjectWriter | None = None

    @property
    def truncated(self) -> bool:
        return self.count > len(self.kept)

    def add(self, errors: list[dict[str, Any]]) -> None:
        for error in errors:
            self.count += 1
            if len(self.kept) < self._limit:
                self.kept.append(error)
                continue
            if self._writer is None:
                self._writer = S3ObjectWriter(self._s3, bucket=self._bucket, key=self.key, content_type="text/csv")
                self._write([REPORT_HEADER, *(_cells(e) for e in self.kept)])
            self._write([_cells(error)])

    def _write(self, lines: list[tuple[Any, ...]]) -> None:
        assert self._writer is not None
        out = io.StringIO()
        csv.writer(out).writerows(lines)
        self._writer.write(out.getvalue().encode())

    def finish(self) -> bool:
        """Store the full report if one was started; True when there is one."""
        if self._writer is None:
            return False
        self._writer.close()
        return True

    def abort(self) -> None:
        """Drop a report begun for an attempt that failed; never raises over the attempt's own error."""
        if self._writer is None:
            return
        try:
            self._writer.abort()
        except Exception:  # noqa: BLE001 - the bucket's lifecycle rule removes what is left
            logger.warning("could not abort an error report upload", extra={"key": self.key})


def summary(
    label: str, *, uploaded: int, created: int, updated: int, failed: int, duplicates: int, key_label: str
) -> str:
    """The result's one-line message, opening as Bull's bulk-upload workers' did ("Mechanics bulk upload
    completed successfully") and going on with the counts."""
    total = uploaded + failed + duplicates
    outcome = "completed with errors" if failed else "completed successfully"
    counts = f"{uploaded} of {_rows(total)} uploaded ({created} created, {updated} updated)"
    parts = [f"{label} bulk upload {outcome}: {counts}"]
    if failed:
        parts.append(f"{_rows(failed)} failed validation")
    if duplicates:
        parts.append(f"{_rows(duplicates)} replaced by a later row with the same {key_label} (the last one wins)")
    return "; ".join(parts)


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"
