"""Payloads too large for a record or a message live in S3; the job keeps a pointer."""

from __future__ import annotations

import json
from typing import Any

from jobline.core.job import DataRef


class PayloadStore:
    """Reads and writes job payloads as JSON objects under `payloads/` in one bucket."""

    def __init__(self, s3_client: Any, *, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def put(self, *, tenant_id: str, job_id: str, body: bytes) -> DataRef:
        """Store a payload and return its pointer."""
        key = f"payloads/{tenant_id}/{job_id}.json"
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")
        return DataRef(bucket=self._bucket, key=key, size=len(body))

    def get(self, ref: DataRef) -> dict[str, Any]:
        """The payload a pointer names."""
        body = self._s3.get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError(f"payload at s3://{ref.bucket}/{ref.key} is not a JSON object")
        return data

    def delete(self, ref: DataRef) -> None:
        self._s3.delete_object(Bucket=ref.bucket, Key=ref.key)
