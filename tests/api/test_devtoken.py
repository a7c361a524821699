"""`python -m jobline_dev.devtoken`: development tokens the API accepts, never outside the local stage."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jobline import auth
from jobline_dev import devtoken


def test_devtoken_with_secret_prints_token_the_api_accepts(capsys) -> None:
    assert devtoken.main(["--tenant", "t9", "--user", "dev", "--roles", "admin,operator", "--hours", "2"]) == 0
    token = capsys.readouterr().out.strip()
    caller = auth.get_verifier().principal(token)
    assert caller == auth.Principal(user_id="dev", tenant_id="t9", roles=frozenset({"admin", "operator"}))


def test_devtoken_default_roles_are_none(capsys) -> None:
    assert devtoken.main([]) == 0
    caller = auth.get_verifier().principal(capsys.readouterr().out.strip())
    assert caller.roles == frozenset()
    assert caller.tenant_id == "tenant-local"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_devtoken_local_stage_without_secret_uses_dev_secret(auth_env, capsys) -> None:
    auth_env.delenv("JOBLINE_JWT_SECRET")
    auth_env.setenv("JOBLINE_STAGE", "local")
    auth.reset()
    assert devtoken.main(["--roles", "admin"]) == 0
    assert auth.get_verifier().principal(capsys.readouterr().out.strip()).is_admin


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_devtoken_without_secret_outside_local_stage_refuses(auth_env, capsys, stage: str) -> None:
    auth_env.delenv("JOBLINE_JWT_SECRET")
    auth_env.setenv("JOBLINE_STAGE", stage)
    assert devtoken.main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "JOBLINE_JWT_SECRET" in captured.err


@pytest.mark.parametrize("hours", ["0", "-1", "100000", "24.5", "720"])
def test_devtoken_hours_out_of_range_refuses(hours: str) -> None:
    # Beyond the API's lifetime cap (24 h by default) the token would only be refused.
    assert devtoken.main(["--hours", hours]) == 2


def test_devtoken_longest_token_is_within_the_api_lifetime_cap(capsys) -> None:
    assert devtoken.main(["--hours", "24"]) == 0
    assert auth.get_verifier().principal(capsys.readouterr().out.strip()).tenant_id == "tenant-local"


def test_devtoken_follows_a_lower_lifetime_cap(auth_env, capsys) -> None:
    auth_env.setenv("JOBLINE_JWT_MAX_LIFETIME_SECONDS", "3600")
    auth.reset()
    assert devtoken.main(["--hours", "2"]) == 2
    assert devtoken.main(["--hours", "1"]) == 0
    assert auth.get_verifier().principal(capsys.readouterr().out.strip()).tenant_id == "tenant-local"


def test_devtoken_runs_as_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jobline_dev.devtoken", "--tenant", "t1"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert auth.get_verifier().principal(done.stdout.strip()).tenant_id == "t1"
