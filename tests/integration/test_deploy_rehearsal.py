"""A deploy rehearsal: template.yaml, transformed by aws-sam-translator as `sam deploy` would,
is created as a stack in moto's CloudFormation, and every resource reaches CREATE_COMPLETE.

moto creates the resource types it knows (queues, functions, event source mappings, roles,
the table, the bucket, rules, the layer) and records the others as created without building
them; `MOTO_UNBUILT` names those, so a new type moto cannot build is a decision, not a surprise.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter

import boto3
import pytest
from moto import mock_aws

from jobline.core.queues import QUEUES
from tests.integration.sam_template import ARTIFACTS, translated_template

# Every parameter has a default; secrets are SSM parameter names, not values.
PARAMETERS: dict[str, str] = {}
# Conditions false with the default parameters whose resources moto would otherwise expect.
OFF_BY_DEFAULT = {"UseDbProxy"}
# Types moto's CloudFormation accepts but does not build (it logs "No Moto CloudFormation support").
MOTO_UNBUILT = {
    "AWS::CloudWatch::Alarm",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
}


@pytest.fixture(scope="module")
def deployed_template() -> dict:
    return translated_template()


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_the_translated_template_creates_every_resource_in_cloudformation(deployed_template: dict) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=ARTIFACTS)
        for resource in deployed_template["Resources"].values():
            code = resource["Properties"].get("Code") or resource["Properties"].get("Content") or {}
            if code.get("S3Bucket") == ARTIFACTS:
                archive = io.BytesIO()
                with zipfile.ZipFile(archive, "w") as zipped:
                    zipped.writestr("app.py", "def lambda_handler(event, context):\n    return event\n")
                s3.put_object(Bucket=ARTIFACTS, Key=code["S3Key"], Body=archive.getvalue())

        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(
            StackName="jobline-rehearsal",
            TemplateBody=json.dumps(deployed_template),
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in PARAMETERS.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        [stack] = cloudformation.describe_stacks(StackName="jobline-rehearsal")["Stacks"]
        resources = cloudformation.describe_stack_resources(StackName="jobline-rehearsal")["StackResources"]

        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        assert {r["ResourceStatus"] for r in resources} == {"CREATE_COMPLETE"}
        # The RDS Proxy and its grants exist only with DbProxyTarget set; the defaults leave it
        # empty. moto still lists each such resource, as created and without a type.
        off = [r for r in deployed_template["Resources"].values() if r.get("Condition") in OFF_BY_DEFAULT]
        wanted = Counter(
            r["Type"] for r in deployed_template["Resources"].values() if r.get("Condition") not in OFF_BY_DEFAULT
        )
        built = Counter(r["ResourceType"] for r in resources if "ResourceType" in r)
        # Every resource of a type moto builds was built; the rest are exactly the unbuilt types.
        assert built == Counter({kind: count for kind, count in wanted.items() if kind not in MOTO_UNBUILT})
        assert len(resources) - built.total() == sum(wanted[kind] for kind in MOTO_UNBUILT) + len(off)

        # What moto built is what the registry asks for: a queue and a DLQ per queue, one more
        # of each per priority lane, and every worker function consuming its queues.
        queue_urls = boto3.client("sqs", region_name="us-east-1").list_queues(MaxResults=1000)["QueueUrls"]
        lanes = sum(1 for queue in QUEUES.values() if queue.priority_lane)
        assert len(queue_urls) == 2 * len(QUEUES) + lanes
        functions = boto3.client("lambda", region_name="us-east-1").list_functions()["Functions"]
        assert len(functions) == wanted["AWS::Lambda::Function"]
        mappings = boto3.client("lambda", region_name="us-east-1").list_event_source_mappings()["EventSourceMappings"]
        assert len(mappings) == len(QUEUES) + lanes
