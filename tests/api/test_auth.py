"""Bearer JWT verification: secrets, JWKS keys, claims, and the 401/403 answers of the API."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jobline import auth
from tests.api.helpers import SECRET, make_token, unsigned_token

STATS = "/api/v1/jobs/email/stats"


def principal(token: str) -> auth.Principal:
    return auth.get_verifier().principal(token)


def test_verifier_valid_hs256_token_gives_principal_with_tenant_and_roles() -> None:
    caller = principal(make_token(tenant="t1", user="u1", roles=["admin"]))
    assert caller == auth.Principal(user_id="u1", tenant_id="t1", roles=frozenset({"admin"}))
    assert caller.is_admin and not caller.is_operator and caller.scope == "t1"


def test_verifier_operator_is_admin_and_sees_every_tenant() -> None:
    caller = principal(make_token(roles=["operator"]))
    assert caller.is_admin and caller.is_operator and caller.scope is None


@pytest.mark.parametrize(
    ("claims", "tenant", "roles"),
    [
        (
            {"tenant_id": None, "custom:tenant_id": "t-cognito", "roles": None, "cognito:groups": ["admin"]},
            "t-cognito",
            {"admin"},
        ),
        ({"tenant_id": None, "org_id": "org-9"}, "org-9", set()),
        ({"roles": "admin, operator"}, "tenant-a", {"admin", "operator"}),
    ],
)
def test_verifier_claim_variants_map_to_tenant_and_roles(claims, tenant, roles) -> None:
    caller = principal(make_token(**claims))
    assert caller.tenant_id == tenant
    assert caller.roles == frozenset(roles)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (make_token(secret="another-secret-of-enough-length-0123456789"), "invalid token"),
        (unsigned_token(), "not accepted"),
        (make_token(lifetime=dt.timedelta(minutes=-5)), "expired"),
        (make_token(nbf=int(dt.datetime.now(dt.UTC).timestamp()) + 600), "not yet valid"),
        (make_token(iat=int(dt.datetime.now(dt.UTC).timestamp()) + 600), "not yet valid"),
        (make_token(aud="someone-else"), "audience"),
        (make_token(aud=None), "invalid token"),
        (make_token(tenant=None), "no tenant"),
        (make_token(tenant=""), "no tenant"),
        (make_token(sub=None), "invalid token"),
        (make_token(exp=None), "invalid token"),
        ("not-a-jwt", "invalid token"),
        (make_token(iat=None), "invalid token: .*iat"),
        (make_token(lifetime=dt.timedelta(hours=24, minutes=1)), "lifetime of 86460 s exceeds the limit of 86400 s"),
        (make_token(aud=["jobline", "another-service"]), "list of audiences"),
        (make_token(aud=["jobline"]), "list of audiences"),
    ],
    ids=[
        "bad-signature",
        "alg-none",
        "expired",
        "nbf-in-future",
        "iat-in-future",
        "wrong-audience",
        "no-audience",
        "missing-tenant",
        "empty-tenant",
        "missing-sub",
        "missing-exp",
        "garbage",
        "missing-iat",
        "lifetime-over-cap",
        "audience-list",
        "audience-list-of-one",
    ],
)
def test_verifier_flawed_token_raises_authentication_error(token: str, reason: str) -> None:
    with pytest.raises(auth.AuthenticationError, match=reason):
        principal(token)


def test_verifier_token_expired_within_leeway_is_accepted() -> None:
    assert principal(make_token(lifetime=dt.timedelta(seconds=-10))).user_id == "user-1"


def test_verifier_issuer_configured_rejects_other_issuer(auth_env) -> None:
    auth_env.setenv("JOBLINE_JWT_ISSUER", "https://issuer.example")
    auth.reset()
    assert principal(make_token(iss="https://issuer.example")).tenant_id == "tenant-a"
    with pytest.raises(auth.AuthenticationError):
        principal(make_token(iss="https://evil.example"))
    with pytest.raises(auth.AuthenticationError):
        principal(make_token())


def test_verifier_issuer_configured_names_the_reason(auth_env) -> None:
    auth_env.setenv("JOBLINE_JWT_ISSUER", "https://issuer.example")
    auth.reset()
    with pytest.raises(auth.AuthenticationError, match="wrong issuer"):
        principal(make_token(iss="https://evil.example"))
    with pytest.raises(auth.AuthenticationError, match=r'invalid token: .*"iss"'):
        principal(make_token())


def test_verifier_token_lifetime_cap_comes_from_environment(auth_env) -> None:
    token = make_token(lifetime=dt.timedelta(hours=2))
    assert principal(token).tenant_id == "tenant-a"
    auth_env.setenv("JOBLINE_JWT_MAX_LIFETIME_SECONDS", "3600")
    auth.reset()
    with pytest.raises(auth.AuthenticationError, match="exceeds the limit of 3600 s"):
        principal(token)
    # Exactly the limit is allowed.
    assert principal(make_token(lifetime=dt.timedelta(hours=1))).tenant_id == "tenant-a"


def test_verifier_token_lifetime_is_measured_from_iat_not_from_now(auth_env) -> None:
    # Issued 23 h ago for 25 h: 2 h are left, but it was minted for too long.
    now = int(dt.datetime.now(dt.UTC).timestamp())
    with pytest.raises(auth.AuthenticationError, match="lifetime"):
        principal(make_token(iat=now - 23 * 3600, exp=now + 2 * 3600))


def test_verifier_audience_list_accepted_only_when_configured(auth_env) -> None:
    token = make_token(aud=["jobline", "another-service"])
    auth_env.setenv("JOBLINE_JWT_ALLOW_AUDIENCE_LISTS", "true")
    auth.reset()
    assert principal(token).tenant_id == "tenant-a"
    # Allowed lists must still name this API.
    with pytest.raises(auth.AuthenticationError, match="audience"):
        principal(make_token(aud=["another-service", "a-third"]))


def test_verifier_audience_from_environment(auth_env) -> None:
    auth_env.setenv("JOBLINE_JWT_AUDIENCE", "client-123")
    auth.reset()
    assert principal(make_token(aud="client-123")).tenant_id == "tenant-a"
    with pytest.raises(auth.AuthenticationError, match="audience"):
        principal(make_token())


def test_verifier_secret_from_ssm_is_read_once(aws, auth_env) -> None:
    ssm = boto3.client("ssm")
    ssm.put_parameter(
        Name="/jobline/test/jwt-secret", Value="ssm-secret-of-enough-length-0123456789", Type="SecureString"
    )
    auth_env.delenv("JOBLINE_JWT_SECRET")
    auth_env.setenv("JOBLINE_JWT_SECRET_PARAMETER", "/jobline/test/jwt-secret")
    auth.reset()
    token = make_token(secret="ssm-secret-of-enough-length-0123456789")
    assert principal(token).user_id == "user-1"
    # Cached: a rotated parameter is seen on the next cold start, not mid-flight.
    ssm.put_parameter(Name="/jobline/test/jwt-secret", Value="rotated", Type="SecureString", Overwrite=True)
    assert principal(token).user_id == "user-1"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_verifier_no_secret_outside_local_stage_rejects_dev_tokens(auth_env) -> None:
    auth_env.delenv("JOBLINE_JWT_SECRET")
    auth.reset()
    with pytest.raises(auth.AuthenticationError, match="not accepted"):
        principal(make_token(secret=auth.DEV_SECRET))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_verifier_local_stage_accepts_dev_secret(auth_env) -> None:
    auth_env.delenv("JOBLINE_JWT_SECRET")
    auth_env.setenv("JOBLINE_STAGE", "local")
    auth.reset()
    assert principal(make_token(secret=auth.DEV_SECRET)).tenant_id == "tenant-a"


# ---------------------------------------------------------------- JWKS (RS256 / ES256)


@pytest.fixture
def jwks_keys(auth_env) -> Iterator[dict[str, object]]:
    """An RSA and an EC key published at a local JWKS URL the verifier is pointed at."""
    keys = {
        "rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec-1": ec.generate_private_key(ec.SECP256R1()),
    }
    document = {"keys": []}
    for kid, key in keys.items():
        algorithm = jwt.algorithms.RSAAlgorithm if kid.startswith("rsa") else jwt.algorithms.ECAlgorithm
        jwk = json.loads(algorithm.to_jwk(key.public_key()))
        document["keys"].append({**jwk, "kid": kid, "use": "sig"})
    body = json.dumps(document).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    auth_env.setenv("JOBLINE_JWKS_URL", f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json")
    auth.reset()
    yield keys
    server.shutdown()
    server.server_close()


def test_verifier_rs256_token_from_jwks_is_accepted(jwks_keys) -> None:
    token = make_token(
        secret=jwks_keys["rsa-1"],
        algorithm="RS256",
        headers={"kid": "rsa-1"},
        roles=None,
        **{"cognito:groups": ["admin"]},
    )
    assert principal(token).roles == frozenset({"admin"})


def test_verifier_es256_token_from_jwks_is_accepted(jwks_keys) -> None:
    token = make_token(secret=jwks_keys["ec-1"], algorithm="ES256", headers={"kid": "ec-1"})
    assert principal(token).tenant_id == "tenant-a"


def test_verifier_rs256_token_signed_by_unknown_key_is_rejected(jwks_keys) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = make_token(secret=stranger, algorithm="RS256", headers={"kid": "rsa-1"})
    with pytest.raises(auth.AuthenticationError):
        principal(token)


def test_verifier_rs256_token_with_unknown_kid_is_rejected(jwks_keys) -> None:
    token = make_token(secret=jwks_keys["rsa-1"], algorithm="RS256", headers={"kid": "nope"})
    with pytest.raises(auth.AuthenticationError, match="signing key"):
        principal(token)


def test_verifier_rs256_without_jwks_url_is_rejected() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(auth.AuthenticationError, match="not accepted"):
        principal(make_token(secret=key, algorithm="RS256"))


# ---------------------------------------------------------------- through the handler


def test_api_without_token_answers_401_with_bearer_challenge(memory_api) -> None:
    answer = memory_api.get(STATS)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="jobline"'
    assert answer.json == {"success": False, "message": "missing bearer token", "errors": []}


@pytest.mark.parametrize(
    "token",
    [
        make_token(secret="another-secret-of-enough-length-0123456789"),
        unsigned_token(),
        make_token(lifetime=dt.timedelta(minutes=-5)),
        make_token(nbf=int(dt.datetime.now(dt.UTC).timestamp()) + 600),
        make_token(aud="someone-else"),
        make_token(tenant=None),
        make_token(lifetime=dt.timedelta(days=30)),
        make_token(iat=None),
        make_token(aud=["jobline", "another-service"]),
    ],
    ids=[
        "bad-signature",
        "alg-none",
        "expired",
        "nbf-in-future",
        "wrong-audience",
        "missing-tenant",
        "lifetime-over-cap",
        "missing-iat",
        "audience-list",
    ],
)
def test_api_flawed_token_answers_401_invalid_token(memory_api, token: str) -> None:
    answer = memory_api.get(STATS, token=token)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="jobline", error="invalid_token"'
    assert answer.json["success"] is False


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "token abc"])
def test_api_non_bearer_authorization_header_answers_401(memory_api, header: str) -> None:
    assert memory_api.get(STATS, headers={"Authorization": header}).status == 401


def test_api_unauthenticated_request_with_bad_body_answers_401_not_422(memory_api) -> None:
    answer = memory_api.post("/api/v1/jobs/email", body="{not json")
    assert answer.status == 401


def test_api_authenticated_request_with_lowercase_bearer_scheme_is_accepted(memory_api) -> None:
    assert memory_api.get(STATS, headers={"authorization": f"bearer {make_token()}"}).status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/admin/jobs/stats"),
        ("GET", "/api/v1/admin/jobs/email/stats"),
        ("GET", "/api/v1/admin/jobs/email/jobs"),
        ("POST", "/api/v1/jobs/failed/clear"),
        ("POST", "/api/v1/jobs/cleanup/trigger"),
        ("POST", "/api/v1/admin/jobs/email/drain"),
    ],
)
def test_api_non_admin_on_admin_route_answers_403(memory_api, user_a, method: str, path: str) -> None:
    answer = memory_api.request(method, path, token=user_a)
    assert answer.status == 403
    assert answer.json["message"] == "this action needs the admin role"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/metrics"),
        ("GET", "/metrics"),
    ],
)
def test_api_admin_on_operator_route_answers_403(memory_api, admin_a, method: str, path: str) -> None:
    answer = memory_api.request(method, path, token=admin_a)
    assert answer.status == 403
    assert answer.json["message"] == "this action needs the operator role"


def test_principal_roles_claim_of_wrong_type_gives_no_roles() -> None:
    assert principal(make_token(roles=None, **{"cognito:groups": 7})).roles == frozenset()


def test_secret_key_check_prefers_environment_over_ssm(auth_env) -> None:
    auth_env.setenv("JOBLINE_JWT_SECRET_PARAMETER", "/never/read")
    auth.reset()
    assert auth.resolve_secret(auth.get_auth_settings()) == SECRET
