"""Weak or missing secrets: the control API refuses to start, unless VASMS_DEV=true."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from control_api.config import Settings, secret_problems
from tests.control_api.api_process import api_env, api_process, run_to_exit
from tests.control_api.support import REPO

WEAK = [
    pytest.param({"VASMS_JWT_SECRET": None}, "VASMS_JWT_SECRET is not set", id="no-jwt-secret"),
    pytest.param({"VASMS_JWT_SECRET": "change-me"}, "VASMS_JWT_SECRET", id="change-me"),
    pytest.param({"VASMS_JWT_SECRET": "secret"}, "VASMS_JWT_SECRET", id="secret"),
    pytest.param({"VASMS_JWT_SECRET": "k3Y-9s8d7f6g5h4j"}, "shorter than 32", id="short-jwt"),
    pytest.param(
        {"VASMS_JWT_SECRET": "changeme" * 5}, "is a placeholder", id="repeated-placeholder"
    ),
    pytest.param(
        {"VASMS_JWT_SECRET": "REPLACE-ME with `openssl rand -base64 48` output"},
        "is a placeholder",
        id="replace-me-long",
    ),
    pytest.param({"VASMS_ADMIN_PASSWORD": "Tr0ub4dor&3"}, "shorter than 12", id="short-admin"),
    pytest.param({"VASMS_ADMIN_PASSWORD": "password" * 2}, "ADMIN_PASSWORD", id="password"),
    pytest.param({"VASMS_ADMIN_PASSWORD": "Change Me Please"}, "ADMIN_PASSWORD", id="change-me"),
]


def _env(tmp_path: Path, changes: dict[str, str | None]) -> dict[str, str]:
    env = api_env(f"sqlite+aiosqlite:///{tmp_path / 'vasms.db'}")
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.mark.parametrize(("changes", "named"), WEAK)
async def test_weak_secret_refused_at_start(
    tmp_path: Path, changes: dict[str, str | None], named: str
) -> None:
    code, _out, err = await run_to_exit(_env(tmp_path, changes), "serve")
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one clear line, no traceback
    assert lines[0].startswith("vasms-control-api: refusing to start:"), err
    assert named in lines[0], err
    # Refused before touching anything: no database was created.
    assert not (tmp_path / "vasms.db").exists()


async def test_uvicorn_factory_refuses_too(tmp_path: Path) -> None:
    """`uvicorn control_api.main:app_from_env --factory` applies the same rule."""
    import asyncio
    import sys

    env = _env(tmp_path, {"VASMS_JWT_SECRET": "change-me"})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "control_api.main:app_from_env",
        "--factory",
        "--port",
        "0",
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode != 0
    assert "refusing to start: VASMS_JWT_SECRET is a placeholder" in err.decode()


async def test_dev_mode_serves_with_weak_secrets(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        {"VASMS_DEV": "true", "VASMS_JWT_SECRET": None, "VASMS_ADMIN_PASSWORD": "admin"},
    )
    async with api_process(env, tmp_path) as api:
        async with api.client() as c:
            r = await c.post("/api/v2/auth/token", json={"username": "admin", "password": "admin"})
        assert r.status_code == 200, r.text
        assert "VASMS_DEV=true, serving despite" in api.log()


async def test_strong_secrets_serve(tmp_path: Path) -> None:
    env = _env(tmp_path, {})
    async with api_process(env, tmp_path) as api:
        async with httpx.AsyncClient(base_url=api.base_url) as c:
            assert (await c.get("/healthz")).status_code == 200
        await api.token(env["VASMS_ADMIN_USERNAME"], env["VASMS_ADMIN_PASSWORD"])


def _deploy_values(path: Path) -> dict[str, str]:
    """KEY: "value" / KEY=value pairs of a deploy file."""
    text = path.read_text()
    pairs = re.findall(r"^\s*(VASMS_[A-Z_]+)\s*[:=]\s*\"?([^\"\n]*)\"?\s*$", text, re.M)
    return dict(pairs)


def test_deploy_files_carry_no_usable_secrets() -> None:
    values = _deploy_values(REPO / "deploy/k8s/config.yaml")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        jwt_secret=values["VASMS_JWT_SECRET"],
        admin_password=values["VASMS_ADMIN_PASSWORD"],
    )
    problems = secret_problems(settings)
    assert any("VASMS_JWT_SECRET" in p for p in problems), problems
    assert any("VASMS_ADMIN_PASSWORD" in p for p in problems), problems
    # systemd: secrets come as credentials, none sits in the environment file.
    example = _deploy_values(REPO / "deploy/systemd/control-api.env.example")
    assert "VASMS_JWT_SECRET" not in example and "VASMS_ADMIN_PASSWORD" not in example
    unit = (REPO / "deploy/systemd/vasms-control-api.service").read_text().splitlines()
    assert "Environment=VASMS_JWT_SECRET_FILE=%d/jwt-secret" in unit
    assert "LoadCredential=jwt-secret:/etc/vasms/credentials/jwt-secret" in unit
    assert "Environment=VASMS_ADMIN_PASSWORD_FILE=%d/admin-password" in unit


async def test_secrets_from_files(tmp_path: Path) -> None:
    """VASMS_JWT_SECRET_FILE / VASMS_ADMIN_PASSWORD_FILE (systemd LoadCredential=)."""
    import secrets

    jwt_file, password_file = tmp_path / "jwt-secret", tmp_path / "admin-password"
    jwt_file.write_text("change-me\n")
    password_file.write_text(secrets.token_urlsafe(18) + "\n")
    env = _env(
        tmp_path,
        {
            "VASMS_JWT_SECRET": None,
            "VASMS_ADMIN_PASSWORD": None,
            "VASMS_JWT_SECRET_FILE": str(jwt_file),
            "VASMS_ADMIN_PASSWORD_FILE": str(password_file),
        },
    )
    code, _out, err = await run_to_exit(env, "serve")
    assert code != 0 and "VASMS_JWT_SECRET is a placeholder" in err, err
    jwt_file.write_text(secrets.token_urlsafe(48) + "\n")
    async with api_process(env, tmp_path) as api:
        await api.token(env["VASMS_ADMIN_USERNAME"], password_file.read_text().strip())
    both = dict(env, VASMS_JWT_SECRET=secrets.token_urlsafe(48))
    code, _out, err = await run_to_exit(both, "serve")
    assert code != 0 and "not both" in err, err


def test_compose_requires_every_secret() -> None:
    text = (REPO / "deploy/docker/docker-compose.yml").read_text()
    for name in ("VASMS_JWT_SECRET", "VASMS_ADMIN_PASSWORD", "VASMS_NODE_TOKEN"):
        assert f"${{{name}:?" in text, name
    assert "POSTGRES_PASSWORD: vasms" not in text


def test_generated_local_secrets_pass() -> None:
    """What `make run` generates is accepted (and what the test support uses)."""
    import secrets

    from tests.control_api.support import ADMIN, JWT_SECRET

    for jwt, password in (
        (secrets.token_hex(32), secrets.token_urlsafe(18)),
        (JWT_SECRET, ADMIN[1]),
    ):
        settings = Settings(_env_file=None, jwt_secret=jwt, admin_password=password)  # type: ignore[call-arg]
        assert secret_problems(settings) == []
