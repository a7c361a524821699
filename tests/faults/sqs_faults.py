"""SQS throttling on the runtime's own SQS client: a botocore `before-call` hook answers some calls with
a throttling error, as SQS does when botocore's own retries are spent."""

from __future__ import annotations

import random
import threading
from typing import Any

from botocore.awsrequest import AWSResponse

from tests.faults import crash
from tests.faults.ledger import Ledger

THROTTLED_OPERATIONS = frozenset({"SendMessage", "ChangeMessageVisibility", "ReceiveMessage", "DeleteMessage"})
ERROR_CODES = ("ThrottlingException", "RequestThrottled")


class SqsThrottler:
    """Fails a share of the client's calls with a throttling ClientError; `enabled` turns it off."""

    def __init__(self, client: Any, *, seed: int, rate: float, ledger: Ledger) -> None:
        self._seed = seed
        self._rate = rate
        self._ledger = ledger
        self._calls = 0
        self._lock = threading.Lock()
        self.enabled = True
        client.meta.events.register("before-call.sqs", self._before_call)

    def _before_call(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        crash.refuse_if_dead(f"SQS {model.name}")
        if not self.enabled or model.name not in THROTTLED_OPERATIONS:
            return None
        with self._lock:
            self._calls += 1
            rng = random.Random(f"{self._seed}:sqs:{self._calls}")
        if rng.random() >= self._rate:
            return None
        code = rng.choice(ERROR_CODES)
        self._ledger.fault(f"sqs_throttled:{model.name}")
        http = AWSResponse("https://sqs.us-east-1.amazonaws.com/", 400, {}, None)
        parsed = {
            "Error": {"Code": code, "Message": "Rate exceeded (injected)", "Type": "Sender"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}, "RetryAttempts": 4},
        }
        return http, parsed
