"""`vasms-control-api`: serve (default), migrate, users create.

vasms-control-api [serve] [--host H] [--port P]
vasms-control-api migrate
vasms-control-api users create --username U --password P --role viewer|operator|admin
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from control_api import logs, migrate
from control_api.config import InsecureSettings, check_secrets, get_settings
from control_api.errors import ApiError
from control_api.models import Role


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vasms-control-api", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the HTTP server (default)")
    serve.add_argument("--host", help="default VASMS_HTTP_HOST (127.0.0.1)")
    serve.add_argument("--port", type=int, help="default VASMS_HTTP_PORT (8080)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    users = sub.add_parser("users", help="manage users").add_subparsers(dest="users_command")
    create = users.add_parser("create", help="create a user")
    create.add_argument("--username", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.viewer.value)
    return parser


def uvicorn_options(trusted_proxies: list[str] | None = None) -> dict[str, Any]:
    """How `serve` runs uvicorn (bench/bare_app.py serves its baseline the same way).

    X-Forwarded-For names the client only when the peer is a trusted proxy
    (`VASMS_TRUSTED_PROXIES`); otherwise the peer address is the client.
    """
    trusted = ",".join(trusted_proxies or [])
    return {
        "log_config": None,  # our handler (logs.configure) formats uvicorn's lines too
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
        "ws_max_size": 1024 * 1024,  # larger V1 messages get an error answer, not a close
        # uvloop and httptools (uvicorn[standard]), not asyncio's loop and h11.
        "loop": "uvloop",
        "http": "httptools",
        # A log line per request costs more than some requests; vasms_http_* metrics count
        # and time every request instead.
        "access_log": False,
    }


def serve(host: str | None, port: int | None) -> int:
    import uvicorn

    settings = get_settings()
    try:
        check_secrets(settings)
    except InsecureSettings as exc:
        print(f"vasms-control-api: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        "control_api.main:app_from_env",
        factory=True,
        host=host or settings.http_host,
        port=port if port is not None else settings.http_port,
        **uvicorn_options(settings.trusted_proxies),
    )
    return 0


async def _create_user(username: str, password: str, role: Role) -> None:
    from control_api.auth import create_user
    from control_api.db import create_engine, make_session_factory

    settings = get_settings()
    await migrate.upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with make_session_factory(engine)() as session:
            user = await create_user(session, username, password, role)
        print(f"created {user.role} {user.username} ({user.id})")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level)
    command = args.command or "serve"
    if command == "serve":
        return serve(getattr(args, "host", None), getattr(args, "port", None))
    if command == "migrate":
        migrate.upgrade_sync(settings.database_url)
        print("database schema is up to date")
        return 0
    if command == "users" and args.users_command == "create":
        if len(args.password) < 8:
            print("password must have at least 8 characters", file=sys.stderr)
            return 2
        try:
            asyncio.run(_create_user(args.username, args.password, Role(args.role)))
        except ApiError as exc:
            print(exc.detail, file=sys.stderr)
            return 1
        return 0
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
