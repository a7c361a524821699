"""template.yaml's hardening (issue 16): secrets are SSM parameter names, never values; the HTTP
API throttles before any Lambda call; the VPC and the RDS Proxy with IAM authentication are one
parameter away; SMS and queue pausing are granted on this stack's resources, not on `*`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_template import as_list, iam_statements, of_type, props, resources, template

FUNCTIONS_IN_ORDER = list(of_type("AWS::Serverless::Function"))
FUNCTIONS = sorted(FUNCTIONS_IN_ORDER)


def parameter_read_policies(function_id: str) -> set[str]:
    """The SSM parameters (by the template parameter naming them) a function's policies may read."""
    read: set[str] = set()
    for policy in props(function_id).get("Policies", []):
        if isinstance(policy, dict) and "SSMParameterReadPolicy" in policy:
            # !Select [1, !Split ["@/", !Sub "@${Name}"]]: the name without its leading slash.
            sub = policy["SSMParameterReadPolicy"]["ParameterName"]["Fn::Select"][1]["Fn::Split"][1]["Fn::Sub"]
            read.add(sub.removeprefix("@${").removesuffix("}"))
    return read


def global_env() -> dict[str, Any]:
    return template()["Globals"]["Function"]["Environment"]["Variables"]


def resource_strings(statement: dict[str, Any]) -> list[str]:
    """A statement's Resource entries as text (a !Sub's template, a plain string)."""
    out = []
    for r in as_list(statement.get("Resource", [])):
        if isinstance(r, str):
            out.append(r)
        elif isinstance(r, dict) and "Fn::Sub" in r:
            out.append(r["Fn::Sub"] if isinstance(r["Fn::Sub"], str) else r["Fn::Sub"][0])
    return out


# ---------------------------------------------------------------- secrets out of the environment


def test_no_secret_value_is_a_parameter_or_an_environment_variable() -> None:
    parameters = template()["Parameters"]
    assert "DatabaseUrl" not in parameters and "WebhookSecret" not in parameters
    # A NoEcho parameter is a secret value passed to CloudFormation, which copies it on.
    assert [name for name, p in parameters.items() if p.get("NoEcho")] == []
    for function_id in FUNCTIONS:
        env = {**global_env(), **props(function_id).get("Environment", {}).get("Variables", {})}
        assert "DATABASE_URL" not in env and "JOBLINE_WEBHOOK_SECRET" not in env, function_id


def test_functions_get_the_names_of_the_secret_parameters() -> None:
    env = global_env()
    assert env["JOBLINE_DATABASE_URL_PARAMETER"] == {"Ref": "DatabaseUrlParameter"}
    assert env["JOBLINE_WEBHOOK_SECRET_PARAMETER"] == {"Ref": "WebhookSecretParameter"}
    parameters = template()["Parameters"]
    assert parameters["DatabaseUrlParameter"]["Default"] == "/jobline/dev/database-url"
    assert parameters["WebhookSecretParameter"]["Default"] == "/jobline/dev/webhook-secret"


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_each_function_reads_exactly_the_secret_parameters_it_uses(function_id: str) -> None:
    # Every function but the gateway's authorizer opens the database; the API serves tenants'
    # signing keys and checks HS256 tokens, as the authorizer does; the notifier signs callbacks.
    # No other function may read those secrets.
    if function_id == "AuthorizerFunction":
        assert parameter_read_policies(function_id) == {"JwtSecretParameter"}
        return
    wanted = {"DatabaseUrlParameter"}
    if function_id == "ApiFunction":
        wanted |= {"JwtSecretParameter", "WebhookSecretParameter"}
    if function_id == "NotifierFunction":
        wanted |= {"WebhookSecretParameter"}
    assert parameter_read_policies(function_id) == wanted


def test_checkov_skip_reasons_no_longer_call_secrets_or_vpc_open_work() -> None:
    for function_id in FUNCTIONS:
        for skip in resources()[function_id]["Metadata"]["checkov"]["skip"]:
            assert "open work" not in skip["comment"], (function_id, skip["id"])


# ---------------------------------------------------------------- flood control


def test_http_api_stage_throttles_every_route() -> None:
    settings = props("JoblineHttpApi")["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
    }
    parameters = template()["Parameters"]
    assert parameters["ApiThrottlingRateLimit"]["Default"] > 0
    assert parameters["ApiThrottlingBurstLimit"]["Default"] >= parameters["ApiThrottlingRateLimit"]["Default"]
    assert props("ApiFunction")["ReservedConcurrentExecutions"] == {"Ref": "ApiReservedConcurrency"}


def test_the_app_learns_the_jwt_issuer() -> None:
    assert template()["Parameters"]["JwtIssuer"]["Default"] == ""
    assert global_env()["JOBLINE_JWT_ISSUER"] == {"Ref": "JwtIssuer"}


# ---------------------------------------------------------------- VPC and RDS Proxy


def test_functions_run_in_the_vpc_only_when_subnets_are_given() -> None:
    parameters = template()["Parameters"]
    assert parameters["VpcSubnetIds"]["Type"] == parameters["VpcSecurityGroupIds"]["Type"] == "CommaDelimitedList"
    assert parameters["VpcSubnetIds"]["Default"] == ""
    assert template()["Globals"]["Function"]["VpcConfig"] == {
        "Fn::If": [
            "InVpc",
            {"SubnetIds": {"Ref": "VpcSubnetIds"}, "SecurityGroupIds": {"Ref": "VpcSecurityGroupIds"}},
            {"Ref": "AWS::NoValue"},
        ]
    }
    for function_id in FUNCTIONS:
        assert "VpcConfig" not in props(function_id), function_id  # the Globals' one applies


def test_the_rds_proxy_requires_tls_and_iam_tokens_and_exists_only_with_a_target() -> None:
    for logical_id in ("DbProxy", "DbProxyTargetGroup", "DbProxyRole"):
        assert resources()[logical_id]["Condition"] == "UseDbProxy", logical_id
    proxy = props("DbProxy")
    assert proxy["EngineFamily"] == "POSTGRESQL"
    assert proxy["RequireTLS"] is True
    assert proxy["Auth"] == [{"AuthScheme": "SECRETS", "SecretArn": {"Ref": "DbProxySecretArn"}, "IAMAuth": "REQUIRED"}]
    assert proxy["VpcSubnetIds"] == {"Ref": "VpcSubnetIds"}
    assert props("DbProxyTargetGroup")["DBProxyName"] == {"Ref": "DbProxy"}
    # Only the proxy reads the database password.
    [statement] = props("DbProxyRole")["Policies"][0]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (
        "secretsmanager:GetSecretValue",
        {"Ref": "DbProxySecretArn"},
    )
    assert global_env()["JOBLINE_DATABASE_IAM_AUTH"] == {"Fn::If": ["UseDbProxy", "true", "false"]}


def test_every_function_may_connect_through_the_proxy_as_its_user_only() -> None:
    policy = resources()["DbProxyConnectPolicy"]
    assert policy["Condition"] == "UseDbProxy"
    # The authorizer never opens the database.
    assert policy["Properties"]["Roles"] == [
        {"Ref": f"{function_id}Role"} for function_id in FUNCTIONS_IN_ORDER if function_id != "AuthorizerFunction"
    ]
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "rds-db:connect"
    arn, names = statement["Resource"]["Fn::Sub"]
    assert arn.endswith(":dbuser:${ProxyId}/${DbProxyUser}")
    assert names["ProxyId"]["Fn::Select"][1]["Fn::Split"][1] == {"Fn::GetAtt": ["DbProxy", "DBProxyArn"]}


# ---------------------------------------------------------------- scoped IAM


def test_no_statement_grants_sms_or_mapping_updates_on_every_resource() -> None:
    scoped = {"sns:Publish", "lambda:UpdateEventSourceMapping", "lambda:GetEventSourceMapping"}
    found = set()
    for owner, statement in iam_statements():
        actions = set(as_list(statement.get("Action", [])))
        if statement.get("Effect") != "Allow" or not actions & scoped:
            continue
        found |= actions & scoped
        for resource in resource_strings(statement):
            assert resource != "*" and not resource.endswith(":*"), (owner, actions, resource)
        if "NotResource" in statement:
            # Direct SMS has no ARN: granted as "anything but an SNS topic or endpoint".
            assert statement["NotResource"] == {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}, owner
    assert found == scoped


def test_pausing_may_update_every_mapping_of_this_stack_and_no_other() -> None:
    mappings = {
        f"{function_id}{event_id}"
        for function_id in FUNCTIONS
        for event_id, event in props(function_id).get("Events", {}).items()
        if event["Type"] == "SQS"
    }
    policy = props("QueuePauseResumePolicy")
    assert policy["Roles"] == [{"Ref": "ApiFunctionRole"}]
    [statement] = [s for s in policy["PolicyDocument"]["Statement"] if "lambda:UpdateEventSourceMapping" in s["Action"]]
    prefix = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:event-source-mapping:"
    named = {r.removeprefix(prefix).strip("${}") for r in resource_strings(statement)}
    assert named == mappings
