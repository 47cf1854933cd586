"""`events-api`: serve, migrate, config, api-user create/list/revoke/rotate, catalog load/show."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.core.db import create_engine, resolve_database_url
from events_api.core.logs import redact
from events_api.core.settings import Settings, get_settings

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

    from events_api.core.logs import configure_logging, logging_config
    from events_api.core.migrate import upgrade

    settings = get_settings()
    configure_logging(settings)
    upgrade(_database_url())
    host = args.host or settings.server_host
    port = args.port or settings.server_port
    workers = args.workers or settings.server_workers
    _share_settings_with_workers(settings, port, workers)
    # prometheus_client reads PROMETHEUS_MULTIPROC_DIR when first imported, so it is set before
    # any worker imports the app; each worker then writes its metrics there and /metrics adds
    # them up.
    metrics_dir, made_here = _metrics_dir(settings.prometheus_multiproc_dir)
    try:
        uvicorn.run(
            "events_api.asgi:app",
            host=host,
            port=port,
            workers=workers,
            # X-Forwarded-* are applied by the app itself (core/proxy.py, FORWARDED_ALLOW_IPS)
            proxy_headers=False,
            server_header=False,
            access_log=False,  # core/observability.py logs each request, with its route
            log_config=logging_config(settings),
            log_level=settings.log_level,
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        )
    finally:
        if made_here:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _share_settings_with_workers(settings: Settings, port: int, workers: int) -> None:
    """Environment the workers read their settings from.

    - INSTANCE_NAME: host:port unless set, so metrics tell this server from others.
    - The failed-login limits are kept in each worker's memory (core/ratelimit.py): each worker
      gets its share, rounded up (at least 1), so that the workers of one server together allow
      about what the settings say. Separate servers still multiply them by their number.
    """
    if not settings.instance_name:
        os.environ["INSTANCE_NAME"] = f"{socket.gethostname()}:{port}"
    for name in ("auth_failures_per_address", "auth_failures_per_login"):
        limit: int = getattr(settings, name)
        if limit > 0:
            os.environ[name.upper()] = str(per_worker_limit(limit, workers))
    get_settings.cache_clear()


def per_worker_limit(limit: int, workers: int) -> int:
    """One worker's share of a failed-login limit: rounded up, at least 1; 0 stays 0 (none)."""
    return 0 if limit == 0 else max(1, math.ceil(limit / workers))


def _metrics_dir(configured: Path | None) -> tuple[Path, bool]:
    """The directory workers share metrics through, emptied of a previous run's; (dir, made)."""
    if configured is None:
        path, made = Path(tempfile.mkdtemp(prefix="events-api-metrics-")), True
    else:
        path, made = configured, False
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path, made


def cmd_config(args: argparse.Namespace) -> None:
    values = effective_settings(get_settings())
    if args.json:
        print(json.dumps(values, indent=2))
        return
    print("# effective settings: environment, then .env, then defaults; secrets masked")
    for name, value in values.items():
        print(f"{name}={'' if value is None else value}")


def effective_settings(settings: Settings) -> dict[str, str | int | float | bool | None]:
    """Every setting by its variable name, as the server sees it; passwords masked."""
    values: dict[str, str | int | float | bool | None] = {}
    for name, value in settings.model_dump().items():
        if name == "database_url" and value:
            value = make_url(value).render_as_string(hide_password=True)
        elif name == "database_read_urls" and value:
            value = " ".join(
                make_url(url).render_as_string(hide_password=True) for url in settings.read_urls()
            )
        elif isinstance(value, Path):
            value = str(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        values[name.upper()] = value
    return values


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


def cmd_api_user_list(_args: argparse.Namespace) -> None:
    from events_api.api_users.service import list_users

    users = _in_transaction(list_users)
    if not users:
        print("no API users")
        return
    width = max(len("LOGIN"), *(len(u.login) for u in users))
    print(f"{'LOGIN':<{width}}  STATUS   CREATED (UTC)        REVOKED (UTC)")
    for user in users:
        created = _utc(user.created_at)
        revoked = _utc(user.revoked_at) if user.revoked_at else "-"
        print(f"{user.login:<{width}}  {user.status:<7}  {created:<19}  {revoked}")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def cmd_api_user_revoke(args: argparse.Namespace) -> None:
    from events_api.api_users.service import AlreadyRevoked, UnknownLogin, revoke_user

    try:
        _in_transaction(lambda conn: revoke_user(conn, args.login))
    except UnknownLogin as exc:
        raise CliError(f"no API user {args.login!r}") from exc
    except AlreadyRevoked:
        print(f"API user {args.login!r} was already revoked.")
        return
    print(f"API user {args.login!r} revoked: its token is refused from now on.")


def cmd_api_user_rotate(args: argparse.Namespace) -> None:
    from events_api.api_users.service import UnknownLogin, rotate_token

    try:
        token = _in_transaction(lambda conn: rotate_token(conn, args.login))
    except UnknownLogin as exc:
        raise CliError(f"no API user {args.login!r}") from exc
    print(f"API user {args.login!r} has a new token; the old one is refused from now on.")
    print("The new token is shown only now; keep it safe:")
    print(token)


def cmd_catalog_load(args: argparse.Namespace) -> None:
    from events_api.catalog.service import CatalogError, load, read_file

    progress = Progress(args.progress)
    try:
        catalog = read_file(Path(args.file))
        progress(
            f"read {args.file}: {len(catalog.event_groups)} event groups, "
            f"{len(catalog.event_properties)} event properties, "
            f"{len(catalog.event_types)} event types"
        )
        progress("checking it against the database and writing it, in one transaction")
        counts = _in_transaction(lambda conn: load(conn, catalog))
    except CatalogError as exc:
        raise CliError(str(exc)) from exc
    progress("committed")
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"catalog loaded: {summary}")


def cmd_purge(args: argparse.Namespace) -> None:
    from events_api.core.timefmt import parse_date, parse_datetime
    from events_api.events.retention import Purged, UnknownEventType, purge

    day = parse_date(args.before)
    before = datetime.combine(day, datetime.min.time()) if day else parse_datetime(args.before)
    if before is None:
        raise CliError(
            f"--before {args.before!r}: expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS "
            "(the project's local time, as created_at)"
        )
    progress = Progress(args.progress)
    scope = f" of type {args.event_type}" if args.event_type else ""
    progress(f"deleting events{scope} created before {before:%Y-%m-%d %H:%M:%S}")

    def report(done: Purged) -> None:
        progress(f"batch {done.batches}: {done.events} events, {done.records} records so far")

    async def run() -> Purged:
        engine = create_engine(get_settings(), _database_url())
        try:
            return await purge(
                engine,
                before,
                event_type_id=args.event_type,
                batch_size=args.batch_size,
                progress=report,
            )
        finally:
            await engine.dispose()

    try:
        done = asyncio.run(run())
    except UnknownEventType as exc:
        raise CliError(f"no event type {args.event_type!r} in the catalog") from exc
    print(
        f"purged {done.events} events and {done.records} property records{scope} created "
        f"before {before:%Y-%m-%d %H:%M:%S}, in {done.batches} batches"
    )


def cmd_catalog_show(args: argparse.Namespace) -> None:
    from events_api.catalog.export import dump, export

    print(dump(_in_transaction(export), args.format), end="")


class Progress:
    """Steps of a long command on stderr, with the time since it began.

    Shown on a terminal, or always with --progress, never with --no-progress; so that output
    captured by scripts stays the summary on stdout (and a one-line error on stderr).
    """

    def __init__(self, enabled: bool | None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.monotonic()

    def __call__(self, step: str) -> None:
        if self.enabled:
            elapsed = time.monotonic() - self.start
            print(f"[{elapsed:6.2f}s] {step}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="events-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = _command(commands, "serve", "apply pending migrations, then run the API (uvicorn)")
    serve.add_argument("--host", help="address to bind (default: SERVER_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=_positive, help="port to bind (default: SERVER_PORT, 8000)")
    serve.add_argument(
        "--workers", type=_positive, help="worker processes (default: SERVER_WORKERS, 1)"
    )
    serve.set_defaults(func=cmd_serve)

    migrate = _command(commands, "migrate", "apply the Alembic migrations and exit")
    migrate.set_defaults(func=cmd_migrate)

    config = _command(
        commands, "config", "print the effective settings (environment, .env, defaults)"
    )
    config.add_argument("--json", action="store_true", help="as one JSON object")
    config.set_defaults(func=cmd_config)

    api_user = commands.add_parser("api-user", help="manage API users")
    api_user_commands = api_user.add_subparsers(dest="api_user_command", required=True)
    create = api_user_commands.add_parser("create", help="create a user; prints its token last")
    create.add_argument("login")
    create.set_defaults(func=cmd_api_user_create)
    listing = api_user_commands.add_parser("list", help="list users and their status (no tokens)")
    listing.set_defaults(func=cmd_api_user_list)
    revoke = api_user_commands.add_parser("revoke", help="revoke a user's token at once")
    revoke.add_argument("login")
    revoke.set_defaults(func=cmd_api_user_revoke)
    rotate = api_user_commands.add_parser(
        "rotate", help="give a user a new token (printed last); the old one stops working"
    )
    rotate.add_argument("login")
    rotate.set_defaults(func=cmd_api_user_rotate)

    catalog = _command(commands, "catalog", "manage event groups, types and properties")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    load = _command(catalog_commands, "load", "load (upsert) a YAML or JSON catalog file")
    load.add_argument("file", help="catalog file: .yaml/.yml, or .json")
    load.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the steps on stderr (default: only on a terminal)",
    )
    load.set_defaults(func=cmd_catalog_load)
    show = _command(
        catalog_commands, "show", "print the stored catalog in the format `catalog load` reads"
    )
    show.add_argument(
        "--format", choices=("yaml", "json"), default="yaml", help="output format (yaml)"
    )
    show.set_defaults(func=cmd_catalog_show)

    purge = _command(
        commands, "purge", "delete events created before a date, in short batched transactions"
    )
    purge.add_argument(
        "--before",
        required=True,
        help="YYYY-MM-DD (midnight) or 'YYYY-MM-DD HH:MM:SS', project local time: events "
        "created earlier are deleted with their property records",
    )
    purge.add_argument("--event-type", help="only events of this event type id")
    purge.add_argument(
        "--batch-size",
        type=_positive,
        default=1000,
        help="events deleted per transaction (default 1000)",
    )
    purge.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show each batch on stderr (default: only on a terminal)",
    )
    purge.set_defaults(func=cmd_purge)
    return parser


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str
) -> argparse.ArgumentParser:
    """A subcommand whose one-line help is also the description its --help shows."""
    return commands.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def settings_error(exc: ValidationError) -> str:
    """`invalid setting MAX_PAGE_SIZE='abc': Input should be a valid integer; ...`"""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        shown = error.get("input")
        if name == "DATABASE_URL":
            shown = redact(str(shown))
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{name}={shown!r}: {message}")
    return "invalid setting " + "; ".join(problems)


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return lines[0] + " " + "; ".join(lines[1:])
    return "; ".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        get_settings()  # every setting validated before anything runs
        args.func(args)
    except ValidationError as exc:
        print(f"events-api: error: {_one_line(settings_error(exc))}", file=sys.stderr)
        sys.exit(2)
    except CliError as exc:
        print(f"events-api: error: {_one_line(str(exc))}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # one line, no traceback, for operators
        print(f"events-api: error: {_one_line(f'{type(exc).__name__}: {exc}')}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
