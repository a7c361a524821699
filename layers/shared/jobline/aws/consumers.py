"""Starting and stopping a queue's consumption: the event source mapping in AWS."""

from __future__ import annotations

from typing import Any, Protocol

from jobline.aws.sqs import QueueTransport


class ConsumerSwitch(Protocol):
    def set_enabled(self, queue: str, enabled: bool) -> None:
        """Start (True) or stop (False) the delivery of `queue`'s messages to its worker."""


class EventSourceMappingSwitch:
    """Pause = disable the Lambda event source mapping, so messages wait and no attempt is spent."""

    def __init__(self, lambda_client: Any, transport: QueueTransport) -> None:
        self._lambda = lambda_client
        self._transport = transport

    def set_enabled(self, queue: str, enabled: bool) -> None:
        paginator = self._lambda.get_paginator("list_event_source_mappings")
        for arn in self._transport.source_arns(queue):  # the queue and its priority lane
            for page in paginator.paginate(EventSourceArn=arn):
                for mapping in page.get("EventSourceMappings", []):
                    self._lambda.update_event_source_mapping(UUID=mapping["UUID"], Enabled=enabled)


class StoreFlagOnly:
    """Where no event source mapping exists (the local stack, tests): the pollers and the
    worker read the paused flag in the job store, which pause and resume always write."""

    def set_enabled(self, queue: str, enabled: bool) -> None:
        return None
