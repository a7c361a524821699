"""What AWS bills for a call: billed units (SQS requests, DynamoDB read and write units, EventBridge events, S3
requests; Lambda and API Gateway are counted by the caller) and their list prices."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

# US dollars, us-east-1, list prices (issue 9; DynamoDB on-demand since the 1 November 2024 cut).
PRICES = {
    "sqs_request": 0.40 / 1e6,  # standard queue, per request (each 64 KB chunk of a payload is one request)
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit (1 KB; transactional writes take 2)
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit (4 KB strongly consistent; transactional 2)
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86
    "eventbridge_event": 1.00 / 1e6,  # custom events, per 64 KB chunk of an entry
    "api_gateway_request": 1.00 / 1e6,  # HTTP API, first 300 million a month, per 512 KB chunk
    "s3_put": 0.005 / 1e3,
    "s3_get": 0.0004 / 1e3,
}
PRICES_AS_OF = "us-east-1 list prices (issue 9; DynamoDB on-demand since the 2024-11-01 cut)"


def _attribute_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value (bytes), from its wire form."""
    ((kind, inner),) = value.items()
    if kind in ("S", "B"):
        return len(inner.encode() if isinstance(inner, str) else inner)
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(v)) for v in inner)
    if kind == "M":
        return 3 + sum(len(k) + _attribute_size(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(1 + _attribute_size(v) for v in inner)
    return 0


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names and values."""
    return sum(len(name) + _attribute_size(value) for name, value in item.items())


@dataclasses.dataclass
class Units:
    """Billed units, summed over calls."""

    sqs_requests: float = 0.0
    dynamodb_wru: float = 0.0
    dynamodb_rru: float = 0.0
    eventbridge_events: float = 0.0
    lambda_requests: float = 0.0
    lambda_gb_seconds: float = 0.0
    api_gateway_requests: float = 0.0
    s3_puts: float = 0.0
    s3_gets: float = 0.0

    def add(self, other: Units) -> Units:
        return Units(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))

    def scaled(self, factor: float) -> Units:
        return Units(*(a * factor for a in dataclasses.astuple(self)))

    def dollars(self) -> dict[str, float]:
        return {
            "SQS": self.sqs_requests * PRICES["sqs_request"],
            "DynamoDB": self.dynamodb_wru * PRICES["dynamodb_wru"] + self.dynamodb_rru * PRICES["dynamodb_rru"],
            "EventBridge": self.eventbridge_events * PRICES["eventbridge_event"],
            "Lambda": self.lambda_requests * PRICES["lambda_request"]
            + self.lambda_gb_seconds * PRICES["lambda_gb_second"],
            "API Gateway": self.api_gateway_requests * PRICES["api_gateway_request"],
            "S3": self.s3_puts * PRICES["s3_put"] + self.s3_gets * PRICES["s3_get"],
        }


_WRITE_KINDS = ("Put", "Update", "Delete", "ConditionCheck")


def billed(service: str, operation: str, params: dict[str, Any], sizes: dict[str, int]) -> Units:
    """The units one call is billed. `sizes` remembers the last written size of each DynamoDB key."""
    units = Units()
    if service == "sqs":
        body = params.get("MessageBody", "")
        units.sqs_requests = max(1, math.ceil(len(body.encode()) / 65_536)) if body else 1
    elif service == "events" and operation == "PutEvents":
        for entry in params.get("Entries", []):
            units.eventbridge_events += max(1, math.ceil(len(json.dumps(entry).encode()) / 65_536))
    elif service == "s3":
        if operation in ("PutObject", "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload"):
            units.s3_puts = 1
        elif operation in ("GetObject", "HeadObject"):
            units.s3_gets = 1
    elif service == "dynamodb":
        units.dynamodb_wru, units.dynamodb_rru = _dynamodb_units(operation, params, sizes)
    return units


def _key_of(params: dict[str, Any]) -> str:
    key = params.get("Key") or {k: v for k, v in params.get("Item", {}).items() if k in ("pk", "sk")}
    return json.dumps(key, sort_keys=True)


def _dynamodb_units(operation: str, params: dict[str, Any], sizes: dict[str, int]) -> tuple[float, float]:
    """(WRU, RRU) of one DynamoDB call: writes per 1 KB (twice in a transaction), reads per 4 KB."""

    def write_units(kind: str, action: dict[str, Any]) -> float:
        key = _key_of(action)
        if kind == "Put":
            sizes[key] = item_size(action["Item"])
        # An update or delete is billed on the larger of the item before and after; the last size seen
        # stands in for both (counter items stay well under 1 KB).
        return max(1, math.ceil(sizes.get(key, 1) / 1024))

    if operation == "GetItem":
        size = sizes.get(_key_of(params), 1)
        per_4kb = max(1, math.ceil(size / 4096))
        return 0.0, per_4kb * (1.0 if params.get("ConsistentRead") else 0.5)
    if operation == "BatchGetItem":
        rru = 0.0
        for request in params.get("RequestItems", {}).values():
            for key in request.get("Keys", []):
                per_4kb = max(1, math.ceil(sizes.get(json.dumps(key, sort_keys=True), 1) / 4096))
                rru += per_4kb * (1.0 if request.get("ConsistentRead") else 0.5)
        return 0.0, rru
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        kind = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}[operation]
        return write_units(kind, params), 0.0
    if operation == "TransactWriteItems":
        wru = 0.0
        for action in params.get("TransactItems", []):
            ((kind, body),) = action.items()
            wru += 2 * write_units(kind, body)
        return wru, 0.0
    if operation == "Query":
        return 0.0, 1.0  # not on a job's path; one unit as a floor
    return 0.0, 0.0
