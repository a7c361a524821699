"""Bearer JWTs: verify a token, turn its claims into a Principal, check roles.

HS256 tokens are checked with a shared secret (environment or SSM), RS256/ES256 tokens
with the keys of a JWKS URL (Cognito). Each algorithm family has its own key source, so
a token can never pick the key it is checked against (no HS/RS confusion).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jwt
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Only the local stack may fall back to this secret; devtoken refuses it elsewhere too.
DEV_SECRET = "jobline-local-development-secret-0123"  # 32+ bytes, as HS256 wants
LOCAL_STAGE = "local"
LEEWAY_SECONDS = 30
DEFAULT_MAX_LIFETIME_SECONDS = 24 * 3600
HMAC_ALGORITHMS = ("HS256",)
JWKS_ALGORITHMS = ("RS256", "ES256")
TENANT_CLAIMS = ("tenant_id", "custom:tenant_id", "org_id")
ROLE_CLAIMS = ("roles", "cognito:groups")
ADMIN = "admin"
OPERATOR = "operator"


class AuthenticationError(Exception):
    """No usable bearer token: answered with 401."""


class MissingToken(AuthenticationError):
    """No bearer token at all (as opposed to a bad one)."""


class PermissionDenied(Exception):
    """A valid token without the role a route needs: answered with 403."""


class AuthSettings(BaseSettings):
    """The auth knobs, read from the environment once."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    jobline_jwt_secret: SecretStr | None = None
    jobline_jwt_secret_parameter: str | None = None
    jobline_jwks_url: str | None = None
    jobline_jwt_audience: str = "jobline"
    # When set, a token must name this issuer (`iss`); the template's JwtIssuer parameter sets it.
    jobline_jwt_issuer: str | None = None
    jobline_stage: str = "dev"
    jobline_jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    # The longest a token may live (`exp - iat`): a leaked long-lived token would be a standing key.
    jobline_jwt_max_lifetime_seconds: int = Field(default=DEFAULT_MAX_LIFETIME_SECONDS, gt=0)
    # A token whose `aud` is a list is meant for several services, so it can be replayed from
    # any of them against this API: refused unless the identity provider only issues such tokens.
    jobline_jwt_allow_audience_lists: bool = False


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who calls: the user, their tenant and their roles."""

    user_id: str
    tenant_id: str
    roles: frozenset[str] = frozenset()

    @property
    def is_operator(self) -> bool:
        return OPERATOR in self.roles

    @property
    def is_admin(self) -> bool:
        # A platform operator can do everything a tenant admin can, across tenants.
        return ADMIN in self.roles or self.is_operator

    @property
    def scope(self) -> str | None:
        """The tenant every lookup is confined to; None (all tenants) for operators."""
        return None if self.is_operator else self.tenant_id


def _read_ssm_secret(name: str) -> str:
    from jobline.runtime import aws_client

    response = aws_client("ssm").get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])


def resolve_secret(settings: AuthSettings) -> str | None:
    """The HS256 secret: environment, else SSM, else the dev secret on the local stage only."""
    if settings.jobline_jwt_secret is not None and settings.jobline_jwt_secret.get_secret_value():
        return settings.jobline_jwt_secret.get_secret_value()
    if settings.jobline_jwt_secret_parameter:
        return _read_ssm_secret(settings.jobline_jwt_secret_parameter)
    if settings.jobline_stage == LOCAL_STAGE:
        return DEV_SECRET
    return None


class TokenVerifier:
    """Checks bearer tokens against the configured secret and JWKS URL."""

    def __init__(self, settings: AuthSettings, *, secret: str | None) -> None:
        self._settings = settings
        self._secret = secret
        self._jwks = (
            jwt.PyJWKClient(settings.jobline_jwks_url, cache_keys=True, timeout=settings.jobline_jwks_timeout_seconds)
            if settings.jobline_jwks_url
            else None
        )

    def _key_for(self, token: str, algorithm: str) -> Any:
        if algorithm in HMAC_ALGORITHMS and self._secret is not None:
            return self._secret
        if algorithm in JWKS_ALGORITHMS and self._jwks is not None:
            try:
                return self._jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as exc:
                raise AuthenticationError(f"no signing key for this token: {exc}") from exc
        raise AuthenticationError(f"tokens signed with {algorithm!r} are not accepted")

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`; raises AuthenticationError for any flaw."""
        try:
            algorithm = str(jwt.get_unverified_header(token).get("alg"))
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key_for(token, algorithm),
                algorithms=[algorithm],
                audience=self._settings.jobline_jwt_audience,
                # template.yaml passes "" for an unset JwtIssuer: that checks no issuer.
                issuer=self._settings.jobline_jwt_issuer or None,
                leeway=LEEWAY_SECONDS,
                # `iat` is required so the lifetime below can be measured (a configured issuer makes
                # PyJWT require `iss` as well).
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthenticationError("token not yet valid") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthenticationError("token has the wrong audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthenticationError("token has the wrong issuer") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"invalid token: {exc}") from exc
        self._check_shape(claims)
        return claims

    def _check_shape(self, claims: dict[str, Any]) -> None:
        """Refuse what a valid signature does not rule out: an audience list, an overlong lifetime."""
        if isinstance(claims.get("aud"), list) and not self._settings.jobline_jwt_allow_audience_lists:
            raise AuthenticationError("token names a list of audiences; only a single audience is accepted")
        # PyJWT checked both convert with int(); a token minted for longer than allowed is
        # refused whatever is left of its life.
        lifetime = int(claims["exp"]) - int(claims["iat"])
        limit = self._settings.jobline_jwt_max_lifetime_seconds
        if lifetime > limit:
            raise AuthenticationError(f"token lifetime of {int(lifetime)} s exceeds the limit of {limit} s")

    def principal(self, token: str) -> Principal:
        """The caller a token names; a token without a tenant is refused."""
        return principal_from_claims(self.claims(token))


def _roles(claims: dict[str, Any]) -> frozenset[str]:
    for name in ROLE_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str):
            return frozenset(value.replace(",", " ").split())
        if isinstance(value, list):
            return frozenset(str(role) for role in value if isinstance(role, str))
    return frozenset()


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Map verified claims to a Principal (tenant from tenant_id, custom:tenant_id or org_id)."""
    tenant = next((claims[c] for c in TENANT_CLAIMS if isinstance(claims.get(c), str) and claims[c]), None)
    if tenant is None:
        raise AuthenticationError("token carries no tenant")
    return Principal(user_id=str(claims["sub"]), tenant_id=tenant, roles=_roles(claims))


@functools.lru_cache(maxsize=1)
def get_auth_settings() -> AuthSettings:
    """The auth settings, read from the environment on first use."""
    return AuthSettings()


@functools.lru_cache(maxsize=1)
def get_verifier() -> TokenVerifier:
    """The process-wide verifier; the secret (maybe from SSM) is read once per cold start."""
    settings = get_auth_settings()
    return TokenVerifier(settings, secret=resolve_secret(settings))


def reset() -> None:
    """Forget the cached settings and verifier (tests change the environment)."""
    get_verifier.cache_clear()
    get_auth_settings.cache_clear()


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header value."""
    if not authorization:
        raise MissingToken("missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("authorization header is not a bearer token")
    return token.strip()


def authenticate(authorization: str | None) -> Principal:
    """The caller behind an Authorization header value; raises AuthenticationError."""
    return get_verifier().principal(bearer_token(authorization))


def require_admin(principal: Principal) -> Principal:
    """The principal, if it may act as a tenant admin; PermissionDenied otherwise."""
    if not principal.is_admin:
        raise PermissionDenied("this action needs the admin role")
    return principal


def require_operator(principal: Principal) -> Principal:
    """The principal, if it is a platform operator; PermissionDenied otherwise."""
    if not principal.is_operator:
        raise PermissionDenied("this action needs the operator role")
    return principal
