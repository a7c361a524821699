"""The local AWS: moto in server mode, and the queues, table, bucket and SSM parameters of the template in it."""

from __future__ import annotations

import functools
import logging
import socket
from collections.abc import Mapping
from typing import Any

import boto3

from jobline_dev.local.console import LOGGER
from jobline_dev.local.spec import StackSpec, TableSpec
from jobline_dev.local.template import ACCOUNT_ID

log = logging.getLogger(LOGGER)

# Fixed fake credentials: nothing the local stack does may reach a real AWS account.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}
# Table properties that create_table takes as they are written in a template.
_TABLE_CREATE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
    "StreamSpecification",
)


def free_port(host: str) -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """moto's threaded server: one endpoint for every AWS service the functions call."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        # Werkzeug logs every request at INFO; the functions' own logs are what matter.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


@functools.cache
def _session(region: str) -> boto3.session.Session:
    # One session: each new one loads botocore's service models again, a second per poller.
    return boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )


def client(service: str, *, endpoint: str, region: str) -> Any:
    """A boto3 client on the local endpoint, with the fake credentials."""
    return _session(region).client(service, endpoint_url=endpoint)


def put_secure_strings(parameters: Mapping[str, str], *, endpoint: str, region: str) -> None:
    """Put each parameter as an SSM SecureString (overwriting), as an operator would before a deploy."""
    ssm = client("ssm", endpoint=endpoint, region=region)
    for name, value in parameters.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def _create_table(dynamodb: Any, table: TableSpec) -> None:
    props = table.properties
    kwargs = {key: props[key] for key in _TABLE_CREATE_PROPERTIES if key in props}
    if "SSESpecification" in props:
        kwargs["SSESpecification"] = {"Enabled": bool(props["SSESpecification"].get("SSEEnabled", False))}
    dynamodb.create_table(TableName=table.name, **kwargs)
    dynamodb.get_waiter("table_exists").wait(TableName=table.name, WaiterConfig={"Delay": 0.2})
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=table.name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )


def provision(spec: StackSpec, *, endpoint: str, region: str) -> None:
    """Create the template's queues (dead-letter targets first), tables and buckets in the local AWS."""
    sqs = client("sqs", endpoint=endpoint, region=region)
    created: set[str] = set()
    by_arn = {f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{q.name}": q for q in spec.queues}
    pending = list(spec.queues)
    while pending:
        # A queue whose RedrivePolicy names a DLQ waits until that DLQ exists.
        ready = [q for q in pending if q.dead_letter_arn is None or by_arn[q.dead_letter_arn].name in created]
        if not ready:
            raise RuntimeError("the template's redrive policies form a cycle")
        for queue in ready:
            sqs.create_queue(QueueName=queue.name, Attributes=queue.attributes)
            created.add(queue.name)
            pending.remove(queue)
    dynamodb = client("dynamodb", endpoint=endpoint, region=region)
    for table in spec.tables:
        _create_table(dynamodb, table)
    s3 = client("s3", endpoint=endpoint, region=region)
    for bucket in spec.buckets:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket.name)
        else:
            s3.create_bucket(Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": region})
    log.info(
        "created %d queues, %d tables and %d buckets from the template",
        len(spec.queues),
        len(spec.tables),
        len(spec.buckets),
    )
