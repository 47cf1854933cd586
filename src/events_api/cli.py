"""`events-api`: serve, migrate, api-user create, catalog load."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.core.db import create_engine, resolve_database_url
from events_api.core.settings import get_settings

T = TypeVar("T")


class CliError(Exception):
    pass


def _database_url() -> str:
    """Resolve once; children (uvicorn workers, alembic) then see the same DATABASE_URL."""
    url = resolve_database_url(get_settings())
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return url


def _in_transaction(work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(get_settings(), _database_url())
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_migrate(_args: argparse.Namespace) -> None:
    from events_api.core.migrate import upgrade

    upgrade(_database_url())
    print("migrations applied (database at head)")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from events_api.core.migrate import upgrade

    upgrade(_database_url())
    uvicorn.run(
        "events_api.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        timeout_graceful_shutdown=30,
        log_level="info",
    )


def cmd_api_user_create(args: argparse.Namespace) -> None:
    from events_api.api_users.service import InvalidLogin, LoginTaken, create_user

    try:
        token = _in_transaction(lambda conn: create_user(conn, args.login))
    except LoginTaken as exc:
        raise CliError(f"API user {args.login!r} already exists") from exc
    except InvalidLogin as exc:
        raise CliError("a login is 1-255 characters of letters, digits and _ . @ -") from exc
    print(f"API user {args.login!r} created. Its token is shown only now; keep it safe:")
    print(token)


def cmd_catalog_load(args: argparse.Namespace) -> None:
    from events_api.catalog.service import CatalogError, load, read_file

    try:
        catalog = read_file(Path(args.file))
        counts = _in_transaction(lambda conn: load(conn, catalog))
    except CatalogError as exc:
        raise CliError(str(exc)) from exc
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"catalog loaded: {summary}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="events-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply pending migrations, then run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply the Alembic migrations and exit")
    migrate.set_defaults(func=cmd_migrate)

    api_user = commands.add_parser("api-user", help="manage API users")
    api_user_commands = api_user.add_subparsers(dest="api_user_command", required=True)
    create = api_user_commands.add_parser("create", help="create a user; prints its token last")
    create.add_argument("login")
    create.set_defaults(func=cmd_api_user_create)

    catalog = commands.add_parser("catalog", help="manage event groups, types and properties")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    load = catalog_commands.add_parser("load", help="load (upsert) a YAML or JSON catalog file")
    load.add_argument("file")
    load.set_defaults(func=cmd_catalog_load)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except CliError as exc:
        print(f"events-api: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # one line, no traceback, for operators
        print(f"events-api: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
