"""template.yaml read for the local stack: CloudFormation tags, parameters and the few intrinsics it uses.

Only what the local stack needs is resolved: names, ARNs and URLs of queues, the table and
the bucket (`!Ref`, `!GetAtt`, `!Sub`), parameters and pseudo parameters, and the
condition functions. Anything else raises `TemplateError` naming the function.
"""

from __future__ import annotations

import base64
import json
import pathlib
import re
from collections.abc import Mapping
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"  # moto's default account
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
# A generated physical name: CloudFormation appends a random suffix; locally the name is fixed.
_GENERATED_NAME_PROPERTY = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Logs::LogGroup": "LogGroupName",
}


class TemplateError(Exception):
    """The template uses something the local stack cannot resolve."""


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns the short tags (!Ref, !Sub, ...) into their long forms."""


def _construct_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else "Condition" if suffix == "Condition" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":  # the short form "Resource.Attribute"
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load(path: pathlib.Path) -> dict[str, Any]:
    """The template at `path` as plain data, short tags in their long forms."""
    data = yaml.load(path.read_text(), Loader=_CfnLoader)
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return data


class Resolver:
    """Evaluates intrinsic functions against parameters, pseudo parameters and local resource names."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        stack_name: str,
        region: str,
        parameters: Mapping[str, str],
        sqs_endpoint: str,
    ) -> None:
        self.template = template
        self.stack_name = stack_name
        self.region = region
        self.sqs_endpoint = sqs_endpoint.rstrip("/")
        self.parameters = self._parameters(parameters)
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local",
        }

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template["Resources"])

    def _parameters(self, overrides: Mapping[str, str]) -> dict[str, str]:
        declared = self.template.get("Parameters", {})
        unknown = set(overrides) - set(declared)
        if unknown:
            raise TemplateError(f"unknown template parameters: {', '.join(sorted(unknown))}")
        values = {}
        for name, spec in declared.items():
            if name in overrides:
                values[name] = str(overrides[name])
            elif "Default" in spec:
                values[name] = str(spec["Default"])
            else:
                raise TemplateError(f"template parameter {name} has no default: give it a value")
        return values

    def physical_name(self, logical_id: str) -> str:
        """The name a resource gets: its name property when the template sets one, else `<stack>-<id>`."""
        resource = self._resource(logical_id)
        prop = _GENERATED_NAME_PROPERTY.get(resource["Type"])
        if prop and prop in resource.get("Properties", {}):
            return str(self.resolve(resource["Properties"][prop]))
        name = f"{self.stack_name}-{logical_id}"
        return name.lower() if resource["Type"] == "AWS::S3::Bucket" else name

    def _resource(self, logical_id: str) -> dict[str, Any]:
        try:
            return dict(self.template["Resources"][logical_id])
        except KeyError:
            raise TemplateError(f"no resource or parameter named {logical_id!r}") from None

    def ref(self, name: str) -> str:
        """What `!Ref name` gives: a parameter, a pseudo parameter or a resource's Ref value."""
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        kind = self._resource(name)["Type"]
        if kind == "AWS::SQS::Queue":
            return f"{self.sqs_endpoint}/{ACCOUNT_ID}/{self.physical_name(name)}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{ACCOUNT_ID}:{self.physical_name(name)}"
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        """What `!GetAtt logical_id.attribute` gives, for the attributes the template reads."""
        kind = self._resource(logical_id)["Type"]
        name = self.physical_name(logical_id)
        service = {"AWS::SQS::Queue": "sqs", "AWS::DynamoDB::Table": "dynamodb", "AWS::Logs::LogGroup": "logs"}
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return name
        if kind == "AWS::SQS::Queue" and attribute == "QueueUrl":
            return self.ref(logical_id)
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}"
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{name}"
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:aws:logs:{self.region}:{ACCOUNT_ID}:log-group:{name}:*"
        if kind == "AWS::SNS::Topic" and attribute == "TopicArn":
            return self.ref(logical_id)
        if attribute.endswith("Arn"):
            # Any other ARN: the service from the type, the name as the resource; enough to pass around.
            prefix = service.get(kind) or kind.split("::")[1].lower()
            return f"arn:aws:{prefix}:{self.region}:{ACCOUNT_ID}:{name}"
        return name

    def condition(self, name: str) -> bool:
        """The value of a named condition of the template."""
        try:
            return bool(self.resolve(self.template["Conditions"][name]))
        except KeyError:
            raise TemplateError(f"no condition named {name!r}") from None

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name.split(".", 1)[0] in self.template["Resources"]:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        # `${!Literal}` is written out as `${Literal}`.
        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def resolve(self, node: Any) -> Any:
        """`node` with every intrinsic function evaluated."""
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, arg)
        return {key: self.resolve(value) for key, value in node.items()}

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self.ref(str(arg))
        if key == "Condition":
            return self.condition(str(arg))
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self.get_att(str(logical_id), str(self.resolve(attribute)))
        if key == "Fn::Sub":
            text, variables = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})
            return self._sub(str(text), variables)
        if key == "Fn::Join":
            return str(arg[0]).join(str(part) for part in self.resolve(arg[1]))
        if key == "Fn::Split":
            return str(self.resolve(arg[1])).split(str(arg[0]))
        if key == "Fn::Select":
            return self.resolve(arg[1])[int(self.resolve(arg[0]))]
        if key == "Fn::If":
            return self.resolve(arg[1] if self.condition(str(arg[0])) else arg[2])
        if key == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(item) for item in arg)
        if key == "Fn::Or":
            return any(self.resolve(item) for item in arg)
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        if key == "Fn::FindInMap":
            name, top, second = (self.resolve(part) for part in arg)
            return self.template["Mappings"][name][top][second]
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        raise TemplateError(f"{key} is not supported by the local stack")


def resources_of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one type, by logical id, in template order."""
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == kind}
