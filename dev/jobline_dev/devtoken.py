"""Print a development bearer token: `python -m jobline_dev.devtoken --tenant t1 --roles admin`.

Signs HS256 with JOBLINE_JWT_SECRET; the built-in dev secret is used only when
JOBLINE_STAGE is `local`, so this never mints a token a deployed stage would trust by accident.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

import jwt

from jobline import auth


def max_hours(settings: auth.AuthSettings) -> float:
    """The longest lifetime the API accepts (JOBLINE_JWT_MAX_LIFETIME_SECONDS): a longer token would only be refused."""
    return settings.jobline_jwt_max_lifetime_seconds / 3600


def _secret(settings: auth.AuthSettings) -> str | None:
    if settings.jobline_jwt_secret is not None and settings.jobline_jwt_secret.get_secret_value():
        return settings.jobline_jwt_secret.get_secret_value()
    if settings.jobline_stage == auth.LOCAL_STAGE:
        return auth.DEV_SECRET
    return None


def make_token(
    *,
    secret: str,
    tenant: str,
    user: str,
    roles: Sequence[str],
    hours: float,
    audience: str,
    issuer: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """An HS256 token with the claims the API reads (sub, tenant_id, roles, aud, iat, exp)."""
    now = now or dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "sub": user,
        "tenant_id": tenant,
        "roles": list(roles),
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(hours=hours)).timestamp()),
    }
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jobline_dev.devtoken", description="Print a development bearer token."
    )
    parser.add_argument("--tenant", default="tenant-local", help="tenant_id claim")
    parser.add_argument("--user", default="dev-user", help="sub claim")
    parser.add_argument("--roles", default="", help="comma-separated roles, e.g. admin,operator")
    parser.add_argument(
        "--hours", type=float, default=12.0, help="lifetime in hours (at most JOBLINE_JWT_MAX_LIFETIME_SECONDS, 24 h)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Print a token on stdout; exit 2 when no secret may be used."""
    args = _parser().parse_args(argv)
    settings = auth.AuthSettings()
    if not 0 < args.hours <= max_hours(settings):
        print(f"--hours must be in (0, {max_hours(settings):g}]", file=sys.stderr)
        return 2
    secret = _secret(settings)
    if secret is None:
        print(
            "set JOBLINE_JWT_SECRET (the dev secret is only for JOBLINE_STAGE=local)",
            file=sys.stderr,
        )
        return 2
    roles = [role for role in (r.strip() for r in args.roles.split(",")) if role]
    print(
        make_token(
            secret=secret,
            tenant=args.tenant,
            user=args.user,
            roles=roles,
            hours=args.hours,
            audience=settings.jobline_jwt_audience,
            issuer=settings.jobline_jwt_issuer,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
