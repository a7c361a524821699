"""Where an upload's records come from: the job payload, or an S3 object read as a stream (CSV or JSON lines).

A record is `(row, value)`: `row` is its 1-based position among the upload's records
(the index in `rows`; the data record of a CSV, header not counted; the non-blank line
of a JSON-lines file). `value` is the raw mapping, or a Malformed when it could not be read.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from jobline.core.errors import UnrecoverableError
from jobline.domains.bulk.schemas import UploadFormat

# An upload larger than this would not finish within the job's timeout anyway.
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
READ_SIZE = 256 * 1024


@dataclasses.dataclass(frozen=True)
class Malformed:
    """A record that could not be parsed; `message` says why."""

    message: str


Record = tuple[int, Any]


class _CountingStream(io.RawIOBase):
    """A raw stream over an S3 body that counts (for progress) and hashes the bytes read."""

    def __init__(self, body: Any) -> None:
        self._body = body
        self.consumed = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        # Hand the HTTP connection back even when the reader stops early.
        if not self.closed:
            self._body.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        self.sha256.update(data)
        return len(data)


class InlineRecords:
    """The rows given in the payload."""

    def __init__(self, rows: Sequence[Any]) -> None:
        self._rows = rows

    def fraction_done(self, row: int) -> float:
        return row / len(self._rows) if self._rows else 1.0

    def close(self) -> None:
        """Nothing to release."""

    def __iter__(self) -> Iterator[Record]:
        return iter(enumerate(self._rows, start=1))


class S3Records:
    """The records of an S3 object, read in constant memory; raises UnrecoverableError if unreadable."""

    def __init__(self, s3: Any, *, bucket: str, key: str, format: UploadFormat) -> None:
        try:
            obj = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                raise UnrecoverableError(f"no uploaded object at {key!r}") from exc
            raise
        self.size = int(obj["ContentLength"])
        if self.size > MAX_UPLOAD_BYTES:
            obj["Body"].close()
            raise UnrecoverableError(f"the object is {self.size} bytes; uploads are limited to {MAX_UPLOAD_BYTES}")
        self._raw = _CountingStream(obj["Body"])
        self._format = format
        self.key = key
        self.columns: list[str] | None = None  # a CSV's header, once read

    def fraction_done(self, row: int) -> float:
        return self._raw.consumed / self.size if self.size else 1.0

    def close(self) -> None:
        """Release the object's HTTP connection, read to the end or not."""
        self._raw.close()

    @property
    def sha256(self) -> str:
        """The hex digest of the bytes read so far (the whole object once iterated)."""
        return self._raw.sha256.hexdigest()

    def __iter__(self) -> Iterator[Record]:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark the header must not keep.
        text = io.TextIOWrapper(io.BufferedReader(self._raw, READ_SIZE), encoding="utf-8-sig", newline="")
        try:
            yield from (self._csv_records(text) if self._format is UploadFormat.CSV else _jsonl_records(text))
        except UnicodeDecodeError as exc:
            raise UnrecoverableError(f"{self.key!r} is not UTF-8 text: {exc}") from exc
        finally:
            text.close()

    def _csv_records(self, text: io.TextIOBase) -> Iterator[Record]:
        reader = csv.reader(text, strict=True)
        try:
            header = self.columns = [name.strip() for name in next(reader)]
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnrecoverableError(f"the CSV header cannot be read: {exc}") from exc
        row = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # A broken quote swallows the rest of the file: no later row can be trusted.
                raise UnrecoverableError(f"CSV record {row + 1} cannot be read: {exc}") from exc
            if not cells:  # a blank line is no record
                continue
            row += 1
            # Cells beyond the header have no column to go to; missing cells are not given.
            yield row, dict(zip(header, cells, strict=False))


def _jsonl_records(text: io.TextIOBase) -> Iterator[Record]:
    row = 0
    for line in text:
        if not line.strip():
            continue
        row += 1
        try:
            yield row, json.loads(line)
        except json.JSONDecodeError as exc:
            yield row, Malformed(f"malformed JSON: {exc.msg}")


def open_records(
    *, rows: Sequence[Any] | None, s3: Any, bucket: str, key: str | None, format: UploadFormat
) -> InlineRecords | S3Records:
    """The payload's rows, or the S3 object's records."""
    if rows is not None:
        return InlineRecords(rows)
    assert key is not None  # the payload model requires rows or a source
    return S3Records(s3, bucket=bucket, key=key, format=format)
