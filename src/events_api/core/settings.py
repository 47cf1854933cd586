"""Every setting, read from the environment (or a `.env` file) once, validated at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

API_PREFIX = "/rest-api/enterprise-interface/v1.0"


def normalize_database_url(url: str) -> str:
    """Accept any PostgreSQL URL and point SQLAlchemy at psycopg 3."""
    for prefix in (
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql://...)")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means the embedded server"
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
    max_string_length: int = Field(default=255, ge=1, description="ids and external ids")
    max_data_bytes: int = Field(default=65_536, ge=1, description="serialized size of `data`")
    max_json_depth: int = Field(default=32, ge=1)
    max_property_value_bytes: int = Field(default=65_536, ge=1)
    db_pool_size: int = Field(default=8, ge=1)
    db_max_overflow: int = Field(default=4, ge=0)
    db_pool_timeout: float = Field(default=5.0, gt=0)
    db_connect_timeout: int = Field(default=5, ge=1)
    db_ping_idle_seconds: float = Field(
        default=10.0, ge=0, description="ping a pooled connection idle this long before use"
    )
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    retry_after_seconds: int = Field(default=5, ge=1)
    group_commit_max_events: int = Field(
        default=256, ge=1, description="most events committed together in one transaction"
    )
    group_commit_max_records: int = Field(
        default=10_000, ge=1, description="most property records in one group commit"
    )
    docs_enabled: bool = True

    @field_validator("database_url")
    @classmethod
    def _normalize_url(cls, value: str | None) -> str | None:
        return normalize_database_url(value) if value else None

    @field_validator("project_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.project_timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
