"""`events-api`: serve the API; manage its database, API users, catalog and events."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from events_api.core.db import Database, create_engine, resolve_database_url
from events_api.core.embedded import release_embedded
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


def _database(settings: Settings) -> Database:
    """One connection, for a command that reads and writes in turn."""
    engine = create_engine(settings, _database_url(), pool_size=1)
    return Database(engine, engine, 1, settings.db_pool_timeout)


def cmd_migrate(_args: argparse.Namespace) -> None:
    from events_api.core.migrate import upgrade

    upgrade(_database_url())
    print("migrations applied (database at head)")


def cmd_serve(args: argparse.Namespace) -> None:
    from events_api.core.logs import configure_logging

    settings = get_settings()
    configure_logging(settings)
    # SIGTERM (kill, docker stop, systemd) exits like Ctrl-C does: through the `finally` below
    # and atexit, which stop the embedded PostgreSQL and remove the metrics directory. uvicorn
    # handles the signal while it serves, then raises it again once it has stopped.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        _serve(args, settings)
    finally:
        release_embedded()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from events_api.core.logs import logging_config
    from events_api.core.migrate import upgrade

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
            # header size and time limits, protocol errors in the error body
            http="events_api.core.http_protocol:EdgeHttpProtocol",
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


def cmd_external_app_create(args: argparse.Namespace) -> None:
    from events_api.logins.service import InvalidName, create_app

    try:
        app_id = _in_transaction(lambda conn: create_app(conn, args.name))
    except InvalidName as exc:
        raise CliError("a name is 1-255 characters and does not start with a space") from exc
    print(f"external application {args.name!r} created. Its id (user_external_application_id):")
    print(app_id)


def cmd_external_app_list(_args: argparse.Namespace) -> None:
    from events_api.logins.service import list_apps

    apps = _in_transaction(list_apps)
    if not apps:
        print("no external applications")
        return
    width = max(len("NAME"), *(len(a.name) for a in apps))
    print(f"{'ID':<26}  {'NAME':<{width}}  STATUS   CREATED (UTC)        REVOKED (UTC)")
    for app in apps:
        revoked = _utc(app.revoked_at) if app.revoked_at else "-"
        print(
            f"{app.external_application_id:<26}  {app.name:<{width}}  {app.status:<7}  "
            f"{_utc(app.created_at):<19}  {revoked}"
        )


def cmd_external_app_revoke(args: argparse.Namespace) -> None:
    from events_api.logins.service import AlreadyRevoked, UnknownApp, revoke_app

    try:
        _in_transaction(lambda conn: revoke_app(conn, args.id))
    except UnknownApp as exc:
        raise CliError(f"no external application {args.id!r}") from exc
    except AlreadyRevoked:
        print(f"external application {args.id!r} was already revoked.")
        return
    print(f"external application {args.id!r} revoked: its bearer tokens are refused from now on.")


def cmd_customers_load(args: argparse.Namespace) -> None:
    from events_api.customers.service import DirectoryError, load, read_file

    try:
        directory = read_file(Path(args.file))
        counts = _in_transaction(lambda conn: load(conn, directory))
    except DirectoryError as exc:
        raise CliError(str(exc)) from exc
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"customer directory loaded: {summary}")


def cmd_catalog_load(args: argparse.Namespace) -> None:
    from events_api.catalog.service import CatalogError, load_data, read_data

    progress = Progress(args.progress)
    try:
        data = read_data(Path(args.file))
        sizes = {
            key: len(entries) if isinstance(entries, list) else 0
            for key in ("event_groups", "event_properties", "event_types")
            for entries in [data.get(key) if isinstance(data, dict) else None]
        }
        progress(
            f"read {args.file}: {sizes['event_groups']} event groups, "
            f"{sizes['event_properties']} event properties, {sizes['event_types']} event types"
        )
        progress("checking it against the database and writing it, in one transaction")
        counts = _in_transaction(
            lambda conn: load_data(conn, data, get_settings().tz, prune=args.prune)
        )
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


def cmd_import(args: argparse.Namespace) -> None:
    from events_api.catalog.cache import CatalogCache
    from events_api.core.notify import ChangeListener
    from events_api.customers.cache import CustomerDirectory
    from events_api.events.transfer import ImportSummary, import_lines

    settings = get_settings()
    stream = sys.stdin.buffer if args.file == "-" else _open(args.file)
    size = None if args.file == "-" else os.fstat(stream.fileno()).st_size
    shown = Progress(args.progress)
    start = time.monotonic()

    def progress(summary: ImportSummary) -> None:
        if not shown.enabled:
            return
        elapsed = max(time.monotonic() - start, 1e-9)
        share = f"{100 * summary.bytes_read / size:5.1f}% " if size else ""
        print(
            f"\r{share}{summary.lines:,} lines: {summary.written:,} written, "
            f"{summary.duplicates:,} duplicates, {summary.invalid:,} invalid "
            f"({summary.lines / elapsed:,.0f} lines/s)",
            end="",
            file=sys.stderr,
            flush=True,
        )

    async def run() -> ImportSummary:
        db = _database(settings)
        listener = ChangeListener()  # never live here: the caches read once a chunk
        catalog = CatalogCache(listener)
        directory = CustomerDirectory(listener, settings.check_customer_ids)
        try:
            return await import_lines(
                db, catalog, directory, stream, settings, args.error_processing, progress
            )
        finally:
            await db.dispose()

    try:
        summary = asyncio.run(run())
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if shown.enabled:
        print(file=sys.stderr)
    for line, problem in summary.problems:
        rendered = problem.render("en")
        print(
            f"line {line}: {rendered['name']}: {rendered['reason']}: {rendered['message']}"
            + (f" ({rendered['value']})" if rendered["value"] else ""),
            file=sys.stderr,
        )
    if summary.invalid > len({line for line, _ in summary.problems}):
        print("(only the first problems are listed)", file=sys.stderr)
    elapsed = time.monotonic() - start
    print(
        f"imported {summary.lines:,} lines in {elapsed:.1f}s: {summary.written:,} written, "
        f"{summary.duplicates:,} duplicates, {summary.invalid:,} invalid"
    )
    if summary.stopped:
        raise CliError(
            "stopped at the first chunk with an invalid line (error processing 1); that chunk "
            "was rolled back, the chunks before it are written; fix the lines and rerun"
        )
    if summary.invalid:
        sys.exit(1)


def _open(path: str) -> Any:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc


def cmd_export(args: argparse.Namespace) -> None:
    from events_api.core.timefmt import parse_datetime
    from events_api.events.filters import EventFilter
    from events_api.events.transfer import export_events

    times = {}
    for name in ("time_from", "time_to"):
        value = getattr(args, name)
        times[name] = parse_datetime(value) if value is not None else None
        if value is not None and times[name] is None:
            raise CliError(
                f"--{name.replace('_', '-')}: expected YYYY-MM-DD HH:MM:SS, got {value!r}"
            )
    type_ids = args.event_type_id or []
    where = EventFilter(
        event_type_id=type_ids[0] if len(type_ids) == 1 else None,
        event_type_ids=type_ids if len(type_ids) > 1 else (),
        customer_id=args.customer_id,
        external_id=args.external_id,
        time_from=times["time_from"],
        time_to=times["time_to"],
    )
    out = sys.stdout if args.output in (None, "-") else open(args.output, "w", encoding="utf-8")  # noqa: SIM115

    async def run() -> int:
        db = _database(get_settings())
        try:
            return await export_events(db, where, out.write)
        finally:
            await db.dispose()

    try:
        exported = asyncio.run(run())
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"exported {exported:,} events", file=sys.stderr)


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


EXAMPLES = {
    "events-api": """examples:
  events-api serve                      # migrate, then serve on 127.0.0.1:8000
  events-api api-user create shop       # a user for your application; prints its token
  events-api catalog load catalog.yaml  # event groups, properties and types
  events-api config                     # the settings the server would use
  events-api <command> --help           # a command's options and examples""",
    "serve": """examples:
  events-api serve
  events-api serve --port 8080
  events-api serve --host 0.0.0.0 --workers 4
  DATABASE_URL=postgresql://user:pass@db:5432/events events-api serve""",
    "migrate": """examples:
  events-api migrate
  DATABASE_URL=postgresql://user:pass@db:5432/events events-api migrate""",
    "config": """examples:
  events-api config
  events-api config --json""",
    "api-user": """examples:
  events-api api-user create shop
  events-api api-user list
  events-api api-user rotate shop
  events-api api-user revoke shop""",
    "api-user create": """The token is printed once, as the last line of the output; it is stored only as a hash.

examples:
  events-api api-user create shop
  TOKEN=$(events-api api-user create shop | tail -n 1)""",
    "api-user list": """examples:
  events-api api-user list""",
    "api-user revoke": """examples:
  events-api api-user revoke shop""",
    "api-user rotate": """examples:
  events-api api-user rotate shop
  TOKEN=$(events-api api-user rotate shop | tail -n 1)""",
    "external-app": """examples:
  events-api external-app create "Shop backend"
  events-api external-app list
  events-api external-app revoke 0193a5b3c2d1e4f5a6b7c8d9e0""",
    "external-app create": """The id is printed as the last line: clients send it as user_external_application_id
to POST /users/actions/login.

examples:
  events-api external-app create "Shop backend"
  APP_ID=$(events-api external-app create "Shop backend" | tail -n 1)""",
    "external-app list": """examples:
  events-api external-app list""",
    "external-app revoke": """examples:
  events-api external-app revoke 0193a5b3c2d1e4f5a6b7c8d9e0""",
    "customers": """examples:
  events-api customers load customers.yaml""",
    "customers load": """Each customer lists its identifiers (email, phone, external_ids); a customer listed again
has its identifiers replaced. POST /events then accepts customer_identifier_type/value.

examples:
  events-api customers load customers.yaml
  events-api customers load customers.csv""",
    "catalog": """examples:
  events-api catalog load catalog.yaml
  events-api catalog show > catalog.yaml
  events-api catalog show --format json""",
    "catalog load": """examples:
  events-api catalog load catalog.yaml
  events-api catalog load catalog.json --progress
  events-api catalog load catalog.yaml --prune""",
    "catalog show": """examples:
  events-api catalog show
  events-api catalog show --format json > catalog.json""",
    "import": """Each line is one POST /events body; lines go through POST /events/batch's path in chunks
of 1000. Relations that exist already count as duplicates, so an interrupted import can be rerun.

examples:
  events-api import events.ndjson --progress
  events-api import events.ndjson --error-processing 2
  events-api export --customer-id 85bc5819e09dab95437552ce79 | events-api import -""",
    "purge": """Deletes in batches of --batch-size events, each its own short transaction; total_items
stays exact. Times are the project's local time, as created_at.

examples:
  events-api purge --before 2024-01-01
  events-api purge --before '2024-06-30 12:00:00' --event-type 8bed991c68a470e7aaeffbf048
  events-api purge --before 2023-01-01 --batch-size 5000 --progress""",
    "export": """examples:
  events-api export > all.ndjson
  events-api export --event-type-id 8bed991c68a470e7aaeffbf048 --time-from '2024-01-01 00:00:00'
  events-api export --customer-id 85bc5819e09dab95437552ce79 -o customer.ndjson""",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="events-api",
        description=__doc__,
        epilog=EXAMPLES["events-api"],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = _commands(parser, "command")

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

    api_user = _command(commands, "api-user", "manage API users (HTTP Basic login:token)")
    api_user_commands = _commands(api_user, "api_user_command")
    create = _command(
        api_user_commands, "create", "create a user; prints its token last", "api-user"
    )
    create.add_argument("login", help="letters, digits and _ . @ - (1-255 characters)")
    create.set_defaults(func=cmd_api_user_create)
    listing = _command(
        api_user_commands, "list", "list users and their status (no tokens)", "api-user"
    )
    listing.set_defaults(func=cmd_api_user_list)
    revoke = _command(api_user_commands, "revoke", "revoke a user's token at once", "api-user")
    revoke.add_argument("login", help="the user to revoke")
    revoke.set_defaults(func=cmd_api_user_revoke)
    rotate = _command(
        api_user_commands,
        "rotate",
        "give a user a new token (printed last); the old one stops working",
        "api-user",
    )
    rotate.add_argument("login", help="the user whose token is replaced")
    rotate.set_defaults(func=cmd_api_user_rotate)

    external_app = _command(
        commands, "external-app", "manage the external applications users log in from"
    )
    app_commands = _commands(external_app, "external_app_command")
    app_create = _command(
        app_commands, "create", "register an application; prints its id last", "external-app"
    )
    app_create.add_argument("name", help="a name for people (1-255 characters)")
    app_create.set_defaults(func=cmd_external_app_create)
    app_list = _command(app_commands, "list", "list applications and their status", "external-app")
    app_list.set_defaults(func=cmd_external_app_list)
    app_revoke = _command(
        app_commands,
        "revoke",
        "revoke an application and every bearer token issued through it",
        "external-app",
    )
    app_revoke.add_argument("id", help="the application's id")
    app_revoke.set_defaults(func=cmd_external_app_revoke)

    customers = _command(commands, "customers", "manage the customer directory")
    customer_commands = _commands(customers, "customers_command")
    customers_load = _command(
        customer_commands,
        "load",
        "load (upsert) a YAML, JSON or CSV customer directory",
        "customers",
    )
    customers_load.add_argument("file", help="directory file: .yaml/.yml, .json or .csv")
    customers_load.set_defaults(func=cmd_customers_load)

    catalog = _command(commands, "catalog", "manage event groups, types and properties")
    catalog_commands = _commands(catalog, "catalog_command")
    load = _command(
        catalog_commands, "load", "load (upsert) a YAML or JSON catalog file", "catalog"
    )
    load.add_argument("file", help="catalog file: .yaml/.yml, or .json")
    load.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the steps on stderr (default: only on a terminal)",
    )
    load.add_argument(
        "--prune",
        action="store_true",
        help="the file is the whole catalog: stored types and properties it does not list are "
        "kept in state 0 (deleted)",
    )
    load.set_defaults(func=cmd_catalog_load)
    show = _command(
        catalog_commands,
        "show",
        "print the stored catalog in the format `catalog load` reads",
        "catalog",
    )
    show.add_argument(
        "--format", choices=("yaml", "json"), default="yaml", help="output format (yaml)"
    )
    show.set_defaults(func=cmd_catalog_show)

    importing = _command(
        commands,
        "import",
        "write events from NDJSON (one POST /events body a line) through the batch path",
    )
    importing.add_argument("file", help="NDJSON file, or - for standard input")
    importing.add_argument(
        "--error-processing",
        type=int,
        choices=(1, 2),
        default=1,
        help="1 (default): stop at the first chunk of 1000 lines with an invalid line, rolling "
        "that chunk back; 2: write every valid line and report the others",
    )
    importing.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress line on stderr (default: only on a terminal)",
    )
    importing.set_defaults(func=cmd_import)

    exporting = _command(
        commands, "export", "print events with their property records as NDJSON (import reads it)"
    )
    exporting.add_argument(
        "--event-type-id", action="append", help="only this event type (repeat for several)"
    )
    exporting.add_argument("--customer-id", help="only this customer's events")
    exporting.add_argument("--external-id", help="only events with this external id")
    exporting.add_argument("--time-from", help="created_at >= this (YYYY-MM-DD HH:MM:SS)")
    exporting.add_argument("--time-to", help="created_at <= this (YYYY-MM-DD HH:MM:SS)")
    exporting.add_argument("--output", "-o", help="file to write (default: standard output)")
    exporting.set_defaults(func=cmd_export)
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


def _commands(
    parser: argparse.ArgumentParser, dest: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Subcommands; naming none prints the parser's help (with its examples), exit code 2."""

    def usage(_args: argparse.Namespace) -> None:
        parser.print_help(sys.stderr)
        sys.exit(2)

    parser.set_defaults(func=usage)
    return parser.add_subparsers(dest=dest, title="commands", metavar="<command>")


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    text: str,
    parent: str = "",
) -> argparse.ArgumentParser:
    """A subcommand whose one-line help is also the description its --help shows, with its
    examples (EXAMPLES) below the options."""
    return commands.add_parser(
        name,
        help=text,
        description=text[:1].upper() + text[1:] + ".",
        epilog=EXAMPLES[f"{parent} {name}".strip()],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


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
    except KeyboardInterrupt:  # Ctrl-C: cleaned up on the way out, no traceback
        sys.exit(128 + signal.SIGINT)
    except Exception as exc:  # one line, no traceback, for operators
        print(f"events-api: error: {_one_line(f'{type(exc).__name__}: {exc}')}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
