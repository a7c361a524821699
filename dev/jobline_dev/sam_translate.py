"""Turns template.yaml into the CloudFormation template AWS would deploy, as `sam deploy` does.

Runs under the SAM CLI's own virtual environment (`.venv-sam/bin/python`), which holds
aws-sam-translator: its pins (pydantic among them) must not decide the application's versions.
Local code paths become S3 URIs, as `sam package` makes them. Prints the template as JSON.

    .venv-sam/bin/python dev/jobline_dev/sam_translate.py template.yaml ARTIFACT_BUCKET
"""

from __future__ import annotations

import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The translator asks IAM for AWS managed policies' ARNs only where a template names them
    by short name; this template names none."""

    def load(self) -> dict[str, str]:
        return {}


def main(template_path: str, artifact_bucket: str) -> None:
    with open(template_path) as file:
        template = yaml_parse(file.read())
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://{artifact_bucket}/{name}.zip"
    json.dump(transform(template, {}, NoManagedPolicies()), sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:3])
