"""The export tests share the bulk tests' fixtures."""

from __future__ import annotations

from tests.bulk.conftest import api, auth_env, other_tenant, other_token, rt, token

__all__ = ["api", "auth_env", "other_tenant", "other_token", "rt", "token"]
