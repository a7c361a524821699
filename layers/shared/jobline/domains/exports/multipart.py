"""Write one S3 object from a stream of bytes in constant memory: a multipart upload once it outgrows a part.

Timeline of a write:

    write … ─▶ buffer reaches part_size ─▶ create upload, upload part 1, buffer empties ─▶ …
    close   ─▶ no part uploaded yet ─▶ one PutObject of the buffer (a small object, one request)
            └▶ otherwise            ─▶ upload the rest as the last part, complete
    error   ─▶ abort the upload, so no invisible parts stay billed (the bucket's lifecycle rule is the backstop)
"""

from __future__ import annotations

import dataclasses
from types import TracebackType
from typing import Any

from jobline.telemetry.observability import logger

MIB = 1024 * 1024
# S3's floor for every part but the last; parts of exactly this size keep memory lowest.
MIN_PART_SIZE = 5 * MIB
DEFAULT_PART_SIZE = 8 * MIB


@dataclasses.dataclass(frozen=True)
class Written:
    """The object as stored: its size and how many parts it took (0 for a single PutObject)."""

    bytes: int
    parts: int


class S3ObjectWriter:
    """Buffers at most one part; use as a context manager so an error aborts the upload."""

    def __init__(
        self, s3: Any, *, bucket: str, key: str, content_type: str, part_size: int = DEFAULT_PART_SIZE
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 parts must be at least {MIN_PART_SIZE} bytes")
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._size = 0
        self._done = False

    def write(self, data: bytes) -> None:
        """Append bytes; a full part goes to S3 at once."""
        self._buffer += data
        self._size += len(data)
        while len(self._buffer) >= self._part_size:
            with memoryview(self._buffer) as view:
                part = bytes(view[: self._part_size])  # one copy; a bytearray slice would make two
            del self._buffer[: self._part_size]
            self._upload_part(part)

    def _upload_part(self, body: bytes) -> None:
        if self._upload_id is None:
            created = self._s3.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ContentType=self._content_type
            )
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        answer = self._s3.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def close(self) -> Written:
        """Finish the object: one PutObject if it fits a part, else the last part and completion."""
        if self._done:
            raise RuntimeError("the object is already written")
        if self._upload_id is None:
            self._s3.put_object(
                Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer), ContentType=self._content_type
            )
        else:
            if self._buffer:
                self._upload_part(bytes(self._buffer))
            self._s3.complete_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
        self._buffer.clear()
        self._done = True
        return Written(bytes=self._size, parts=len(self._parts))

    def abort(self) -> None:
        """Drop what was uploaded so far."""
        self._buffer.clear()
        if self._upload_id is not None and not self._done:
            upload_id, self._upload_id = self._upload_id, None
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=upload_id)

    def __enter__(self) -> S3ObjectWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None or self._done:
            return
        try:
            self.abort()
        except Exception:  # noqa: BLE001 - the original error matters more; the lifecycle rule cleans up
            logger.warning("could not abort a multipart upload", extra={"key": self._key})
