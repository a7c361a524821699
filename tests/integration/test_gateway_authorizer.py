"""Flood control at the gateway (issue 16): the HTTP API's Lambda REQUEST authorizer.

The template side: every route needs a token unless it is one of the app's public routes; API
Gateway refuses a request without an Authorization header itself and caches each answer. The
function side: the authorizer checks a token with the API's own code and answers allow (with
the caller) or deny, and never raises (a raise is a 500 at the gateway).
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import subprocess
import sys
from typing import Any

import boto3
import pytest

from jobline import auth
from jobline.api.app import PUBLIC_ROUTES
from jobline_dev.devtoken import make_token
from tests.integration.sam_template import translated_template
from tests.integration.test_template import props, resources, template

ROOT = pathlib.Path(__file__).resolve().parents[2]
SECRET = "gateway-authorizer-secret-0123456789abcdef"
AUDIENCE = "jobline"
AUTHORIZER = "JoblineAuthorizer"
CACHE_SECONDS = 300


def http_events(function_id: str) -> dict[str, dict[str, Any]]:
    return {name: e["Properties"] for name, e in props(function_id).get("Events", {}).items() if e["Type"] == "HttpApi"}


# ---------------------------------------------------------------- the template


def test_every_route_defaults_to_the_lambda_authorizer_on_the_authorization_header_with_caching() -> None:
    api_auth = props("JoblineHttpApi")["Auth"]
    assert api_auth["DefaultAuthorizer"] == AUTHORIZER
    assert api_auth["Authorizers"] == {
        AUTHORIZER: {
            "FunctionArn": {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]},
            "EnableFunctionDefaultPermissions": True,
            "AuthorizerPayloadFormatVersion": "2.0",
            "EnableSimpleResponses": True,
            # A request without the header is a 401 from API Gateway, with no Lambda call; an
            # answer is kept per header value, so repeating one bad token calls it once per TTL.
            "Identity": {"Headers": ["Authorization"], "ReauthorizeEvery": CACHE_SECONDS},
        }
    }


def test_exactly_the_apps_public_routes_skip_the_authorizer() -> None:
    public = {
        (e["Method"].upper(), e["Path"])
        for e in http_events("ApiFunction").values()
        if e.get("Auth", {}).get("Authorizer") == "NONE"
    }
    # health, the OpenAPI document and Swagger UI, the offer links, the admin page (both paths)
    assert public == set(PUBLIC_ROUTES)
    assert {
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/openapi.json"),
        ("POST", "/api/v1/waitlist/offers/accept"),
        ("POST", "/api/v1/waitlist/offers/decline"),
        ("GET", "/admin"),
        ("GET", "/admin/jobs"),
    } <= public
    # Every other route (the catch-alls, /metrics) takes the default authorizer; no other
    # function, and no other Auth setting, opens a route.
    for name, event in http_events("ApiFunction").items():
        if (event["Method"].upper(), event["Path"]) not in public:
            assert "Auth" not in event, name
        else:
            assert event["Auth"] == {"Authorizer": "NONE"}, name
    for function_id, function in resources().items():
        if function["Type"] == "AWS::Serverless::Function" and function_id != "ApiFunction":
            assert http_events(function_id) == {}, function_id


def test_the_authorizer_function_reads_the_jwt_secret_and_nothing_else() -> None:
    function = props("AuthorizerFunction")
    assert function["CodeUri"].rstrip("/") == "functions/authorizer"
    assert "Events" not in function  # API Gateway calls it; nothing else does
    assert function["Policies"] == [
        {
            "SSMParameterReadPolicy": {
                "ParameterName": {"Fn::Select": [1, {"Fn::Split": ["@/", {"Fn::Sub": "@${JwtSecretParameter}"}]}]}
            }
        }
    ]
    # The token rules come from the same settings the API function gets (Globals).
    env = template()["Globals"]["Function"]["Environment"]["Variables"]
    for name, parameter in {
        "JOBLINE_JWT_SECRET_PARAMETER": "JwtSecretParameter",
        "JOBLINE_JWKS_URL": "JwksUrl",
        "JOBLINE_JWT_AUDIENCE": "JwtAudience",
        "JOBLINE_JWT_ISSUER": "JwtIssuer",
    }.items():
        assert env[name] == {"Ref": parameter}
    assert resources()["AuthorizerFunctionLogGroup"]["Type"] == "AWS::Logs::LogGroup"
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "AuthorizerFunctionLogGroup"}}
    assert resources()["AuthorizerFunctionErrorsAlarm"]["Properties"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "AuthorizerFunction"}}
    ]


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    """template.yaml as `sam deploy` sends it to CloudFormation (aws-sam-translator)."""
    return translated_template()


def test_the_deployed_api_asks_the_authorizer_for_every_route_but_the_public_ones(translated) -> None:
    body = translated["Resources"]["JoblineHttpApi"]["Properties"]["Body"]
    scheme = body["components"]["securitySchemes"][AUTHORIZER]["x-amazon-apigateway-authorizer"]
    assert scheme["type"] == "request"
    assert scheme["identitySource"] == ["$request.header.Authorization"]
    assert scheme["authorizerResultTtlInSeconds"] == CACHE_SECONDS
    assert (scheme["authorizerPayloadFormatVersion"], scheme["enableSimpleResponses"]) == ("2.0", True)
    assert scheme["authorizerUri"]["Fn::Sub"][1]["__FunctionArn__"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    seen = set()
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            method = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            wanted = [{"NONE": []}] if (method, path) in PUBLIC_ROUTES else [{AUTHORIZER: []}]
            assert operation["security"] == wanted, (method, path)
            seen.add((method, path))
    assert set(PUBLIC_ROUTES) <= seen


def test_api_gateway_may_invoke_the_authorizer_for_this_api_only(translated) -> None:
    permissions = [
        r["Properties"]
        for r in translated["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["FunctionName"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    ]
    assert len(permissions) == 1
    [permission] = permissions
    assert (permission["Action"], permission["Principal"]) == ("lambda:InvokeFunction", "apigateway.amazonaws.com")
    arn, names = permission["SourceArn"]["Fn::Sub"]
    assert arn.endswith(":${__ApiId__}/authorizers/*")
    assert names == {"__ApiId__": {"Ref": "JoblineHttpApi"}}


# ---------------------------------------------------------------- the function


@pytest.fixture
def configured(monkeypatch) -> None:
    """The authorizer's environment: the HS256 secret, the API's audience, the deployed stage."""
    monkeypatch.setenv("JOBLINE_STAGE", "dev")
    monkeypatch.setenv("JOBLINE_JWT_SECRET", SECRET)
    monkeypatch.setenv("JOBLINE_JWT_AUDIENCE", AUDIENCE)
    monkeypatch.delenv("JOBLINE_JWT_SECRET_PARAMETER", raising=False)
    monkeypatch.delenv("JOBLINE_JWT_ISSUER", raising=False)
    monkeypatch.delenv("JOBLINE_JWKS_URL", raising=False)
    auth.reset()
    yield
    auth.reset()


def load_handler() -> Any:
    """functions/authorizer/app.py's handler, loaded from its file as Lambda would."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("jobline_function_authorizer", ROOT / "functions/authorizer/app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def request(authorization: str | None) -> dict[str, Any]:
    """A payload 2.0 authorizer event, as API Gateway sends it (header names lower-cased)."""
    event = json.loads((ROOT / "events/authorizer_request.json").read_text())
    if authorization is None:
        event["headers"].pop("authorization")
        event["identitySource"] = []
    else:
        event["headers"]["authorization"] = authorization
        event["identitySource"] = [authorization]
    return event


def token(**overrides: Any) -> str:
    claims: dict[str, Any] = {
        "secret": SECRET,
        "tenant": "tenant-a",
        "user": "user-1",
        "roles": ["admin"],
        "hours": 1,
        "audience": AUDIENCE,
    }
    return make_token(**{**claims, **overrides})


def test_a_valid_token_is_allowed_with_its_caller(configured) -> None:
    answer = load_handler()(request(f"Bearer {token(roles=['operator', 'admin'])}"), None)
    assert answer == {
        "isAuthorized": True,
        "context": {"tenantId": "tenant-a", "userId": "user-1", "roles": "admin,operator"},
    }


def test_the_api_and_the_authorizer_agree_on_a_token(configured) -> None:
    # The same code decides: whatever authenticate() accepts is allowed, with the same caller.
    value = f"Bearer {token(roles=[])}"
    principal = auth.authenticate(value)
    answer = load_handler()(request(value), None)
    assert answer["isAuthorized"] is True
    assert (answer["context"]["tenantId"], answer["context"]["userId"], answer["context"]["roles"]) == (
        principal.tenant_id,
        principal.user_id,
        "",
    )


def refused(**overrides: Any) -> str:
    return f"Bearer {token(**overrides)}"


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing header"),
        pytest.param("", id="empty header"),
        pytest.param("Basic dXNlcjpwYXNz", id="not a bearer token"),
        pytest.param("Bearer", id="bearer without a token"),
        pytest.param("Bearer not.a.jwt", id="malformed"),
        pytest.param(refused(secret="another-secret-0123456789abcdef-xyz"), id="wrong signature"),
        pytest.param(refused(now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)), id="expired"),
        pytest.param(refused(audience="another-service"), id="wrong audience"),
        pytest.param(refused(hours=48), id="lifetime over the cap"),
        pytest.param(refused(tenant=""), id="no tenant"),
    ],
)
def test_anything_but_a_valid_token_is_refused_without_raising(configured, authorization) -> None:
    assert load_handler()(request(authorization), None) == {"isAuthorized": False}


def test_a_token_from_another_issuer_is_refused_when_an_issuer_is_configured(configured, monkeypatch) -> None:
    monkeypatch.setenv("JOBLINE_JWT_ISSUER", "https://id.example.com")
    auth.reset()
    handler = load_handler()
    assert handler(request(refused(issuer="https://evil.example.com")), None) == {"isAuthorized": False}
    assert handler(request(refused(issuer=None)), None) == {"isAuthorized": False}
    assert handler(request(refused(issuer="https://id.example.com")), None)["isAuthorized"] is True


def test_the_secret_comes_from_ssm_and_an_unreadable_one_refuses_without_raising(aws, configured, monkeypatch) -> None:
    monkeypatch.delenv("JOBLINE_JWT_SECRET")
    monkeypatch.setenv("JOBLINE_JWT_SECRET_PARAMETER", "/jobline/dev/jwt-secret")
    auth.reset()
    handler = load_handler()
    # No such parameter yet: refused (and logged), not a 500 at the gateway.
    assert handler(request(refused()), None) == {"isAuthorized": False}
    boto3.client("ssm").put_parameter(Name="/jobline/dev/jwt-secret", Value=SECRET, Type="SecureString")
    assert handler(request(refused()), None)["isAuthorized"] is True


def test_a_broken_event_is_refused_without_raising(configured) -> None:
    handler = load_handler()
    assert handler({}, None) == {"isAuthorized": False}
    assert handler({"headers": None, "requestContext": None}, None) == {"isAuthorized": False}
    assert handler({"headers": {"authorization": 42}}, None) == {"isAuthorized": False}


# Run in a fresh interpreter, as a cold Lambda starts: what importing the handler loads.
IMPORTED_BY = """
import json, runpy, sys
runpy.run_path(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def test_a_cold_start_loads_no_database_runtime_api_or_domain_code() -> None:
    run = subprocess.run(
        [sys.executable, "-c", IMPORTED_BY, str(ROOT / "functions/authorizer/app.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    modules = set(json.loads(run.stdout.strip().splitlines()[-1]))
    heavy = {
        m
        for m in modules
        # boto3 comes later, and only to read the SSM secret once.
        if m.split(".")[0] in {"sqlalchemy", "pg8000", "redis", "boto3", "pandas", "openpyxl"}
        or m.startswith(("jobline.runtime", "jobline.domains", "jobline.api", "jobline.engine", "jobline.store"))
    }
    assert heavy == set()
    assert "jobline.auth" in modules
