"""Every setting, read from the environment (or a `.env` file) once, validated at start."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

API_PREFIX = "/rest-api/enterprise-interface/v1.0"
WEBSERVICE = "/webservice"  # CareCloud's URLs put the API under it (WEBSERVICE_ALIAS)
ROOT_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")


def parse_trusted_hosts(value: str) -> list[str]:
    """`127.0.0.1, 10.0.0.0/8, ::1` or `*`: each entry an IP address or a network."""
    hosts = [item.strip() for item in value.split(",") if item.strip()]
    if not hosts:
        raise ValueError("empty; use 127.0.0.1 (the default) to trust no remote proxy")
    for host in hosts:
        if host == "*":
            continue
        try:
            ipaddress.ip_network(host, strict=False)
        except ValueError as exc:
            raise ValueError(f"{host!r} is neither an IP address, a network nor *") from exc
    return hosts


def normalize_database_url(url: str) -> str:
    """Accept any PostgreSQL URL and point SQLAlchemy at psycopg 3.

    A libpq multi-host URL (`postgresql://h1:5432,h2:5432/db?target_session_attrs=read-write`,
    as pg_auto_failover's `pg_autoctl show uri` prints it) becomes SQLAlchemy's spelling of the
    same thing, one `host=h:port` query parameter per host.
    """
    for prefix in (
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + _multi_host(url[len(prefix) :])
    raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql://...)")


def _multi_host(rest: str) -> str:
    """`user@h1:p1,h2:p2/db?x=y` -> `user@/db?host=h1:p1&host=h2:p2&x=y`; others unchanged."""
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    if "," not in hostlist:
        return rest
    hosts = [host.strip() for host in hostlist.split(",")]
    if not all(hosts):
        raise ValueError("DATABASE_URL: empty host in the host list")
    dbname, question, query = path.partition("?")
    params = "&".join(f"host={host}" for host in hosts)
    return f"{userinfo}{at}/{dbname}?{params}{'&' + query if query else ''}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means the embedded server"
    )
    database_read_urls: str | None = Field(
        default=None,
        description="streaming replicas for GET /events, space-separated URLs; unset: none",
    )
    replica_max_lag_seconds: float = Field(
        default=5.0, gt=0, description="a replica staler than this is skipped"
    )
    events_api_data_dir: Path = Field(
        default=Path(".events-api"), description="Where the embedded PostgreSQL keeps its data"
    )
    project_timezone: str = Field(
        default="UTC", description="IANA zone of the project's local time (created_at, time_from)"
    )
    max_page_size: int = Field(default=1000, ge=1, le=100_000)
    max_offset: int = Field(default=10_000_000, ge=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_batch_body_bytes: int = Field(
        default=16_777_216, ge=1024, description="request body limit of POST /events/batch"
    )
    max_string_length: int = Field(default=255, ge=1, description="ids and external ids")
    max_data_bytes: int = Field(default=65_536, ge=1, description="serialized size of `data`")
    max_json_depth: int = Field(default=32, ge=1)
    max_property_value_bytes: int = Field(default=65_536, ge=1)
    db_pool_size: int = Field(default=8, ge=1)
    db_max_overflow: int = Field(
        default=0,
        ge=0,
        description="connections opened beyond DB_POOL_SIZE under load (0: requests wait, in order)",
    )
    db_pool_timeout: float = Field(default=5.0, gt=0)
    db_connect_timeout: int = Field(default=5, ge=1)
    db_ping_idle_seconds: float = Field(
        default=10.0, ge=0, description="ping a pooled connection idle this long before use"
    )
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    retry_after_seconds: int = Field(default=5, ge=1)
    shutdown_timeout_seconds: int = Field(
        default=30, ge=1, description="on SIGTERM, how long in-flight requests may take"
    )
    auth_failures_per_address: int = Field(
        default=20, ge=0, description="failed logins per client address per window; 0: no limit"
    )
    auth_failures_per_login: int = Field(
        default=10, ge=0, description="failed logins per login per window; 0: no limit"
    )
    auth_failure_window_seconds: float = Field(
        default=60.0, gt=0, description="window of the failed-login limits (429 above)"
    )
    bearer_token_hours: float = Field(
        default=7.0, gt=0, le=8760, description="validity of a bearer token from the login"
    )
    group_commit_max_events: int = Field(
        default=256, ge=1, description="most events committed together in one transaction"
    )
    group_commit_max_records: int = Field(
        default=10_000, ge=1, description="most property records in one group commit"
    )
    max_request_line_bytes: int = Field(
        default=8192, ge=256, description="longest request line (method, URL, version); 414 above"
    )
    max_header_bytes: int = Field(
        default=16_384, ge=1024, description="largest request head (line and headers); 431 above"
    )
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="a request head not complete within this is dropped"
    )
    docs_enabled: bool = Field(default=True, description="serve /docs and /openapi.json")
    check_customer_ids: bool = Field(
        default=True,
        description="once the customer directory holds a customer, events must name one of its "
        "customers (400 not_found; GET /customers/{customer_id}/events: 404)",
    )
    webservice_alias: bool = Field(
        default=True,
        description="also serve the API under /webservice/rest-api/..., CareCloud's own URLs",
    )

    # `events-api serve` (command-line options override these)
    server_host: str = Field(default="127.0.0.1", description="address the server binds")
    server_port: int = Field(default=8000, ge=1, le=65535, description="port the server binds")
    server_workers: int = Field(default=1, ge=1, le=64, description="API worker processes")

    # behind a reverse proxy
    root_path: str = Field(
        default="", description="path prefix the proxy serves the API under, e.g. /webservice"
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="proxies (IPs, CIDRs or *) whose X-Forwarded-For/-Proto/-Prefix are trusted",
    )

    # observability
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        default="info", description="level of the server's logs"
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object per line; text: for humans"
    )
    metrics_enabled: bool = Field(default=True, description="serve Prometheus metrics at /metrics")
    instance_name: str | None = Field(
        default=None,
        description="names this server in metrics (events_api_process_info); unset: host:port",
    )
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        description="directory the workers share metrics through; unset: a fresh temporary one",
    )

    @field_validator("database_url")
    @classmethod
    def _normalize_url(cls, value: str | None) -> str | None:
        return normalize_database_url(value) if value else None

    @field_validator("database_read_urls")
    @classmethod
    def _read_urls(cls, value: str | None) -> str | None:
        if value:
            for url in value.split():
                normalize_database_url(url)
        return value

    @field_validator("project_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("root_path")
    @classmethod
    def _root_path(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not ROOT_PATH.fullmatch(value):
            raise ValueError("expected a path such as /webservice (letters, digits, . _ ~ -)")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, value: str) -> str:
        return ",".join(parse_trusted_hosts(value))

    def read_urls(self) -> list[str]:
        """DATABASE_READ_URLS, each normalized like DATABASE_URL."""
        return [normalize_database_url(url) for url in (self.database_read_urls or "").split()]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.project_timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
