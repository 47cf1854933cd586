"""Tables. Schema changes go through Alembic migrations; a test checks that both agree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ApiUser(Base):
    __tablename__ = "api_users"

    api_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(255), unique=True)
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EventGroup(Base):
    __tablename__ = "event_groups"

    event_group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    text_id: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))


class EventProperty(Base):
    __tablename__ = "event_properties"

    property_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    data_type: Mapped[str] = mapped_column(String(32))
    is_required: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_unique: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    last_change: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    state: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))


class EventType(Base):
    __tablename__ = "event_types"

    event_type_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_group_id: Mapped[str] = mapped_column(
        ForeignKey("event_groups.event_group_id"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    text_id: Mapped[str] = mapped_column(String(255), unique=True)
    icon_name: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))


class EventTypeProperty(Base):
    """Which event properties are assigned to which event type (N:M)."""

    __tablename__ = "event_type_properties"

    event_type_id: Mapped[str] = mapped_column(
        ForeignKey("event_types.event_type_id", ondelete="CASCADE"), primary_key=True
    )
    property_id: Mapped[str] = mapped_column(
        ForeignKey("event_properties.property_id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # CareCloud's relation_already_exists rule; NULL secondary ids compare equal.
        Index(
            "uq_events_relation",
            "event_type_id",
            "customer_id",
            "external_id",
            "secondary_external_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_events_created_at", "created_at", "event_id"),
        Index("ix_events_type_created_at", "event_type_id", "created_at", "event_id"),
        Index("ix_events_customer_created_at", "customer_id", "created_at", "event_id"),
        Index("ix_events_external_id", "external_id"),
    )

    event_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    event_type_id: Mapped[str] = mapped_column(ForeignKey("event_types.event_type_id"))
    customer_id: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str] = mapped_column(String(255))
    secondary_external_id: Mapped[str | None] = mapped_column(String(255))
    # `json` (not jsonb) keeps the client's key order, so `data` comes back as it was sent.
    data: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    state: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))


class EventTypeCount(Base):
    """Exact number of events per event type, kept by triggers on `events` (any writer, COPY
    included), so `total_items` of a type filter never scans the events. Each row is one shard
    (`pg_backend_pid() % 8` of the writing session), so concurrent writers rarely wait on the
    same counter row; the count of a type is the sum of its shards."""

    __tablename__ = "event_type_counts"

    event_type_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class EventPropertyRecord(Base):
    __tablename__ = "event_property_records"

    event_id: Mapped[str] = mapped_column(
        ForeignKey("events.event_id", ondelete="CASCADE"), primary_key=True
    )
    property_id: Mapped[str] = mapped_column(
        ForeignKey("event_properties.property_id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    property_value: Mapped[Any | None] = mapped_column(JSON)
    last_change: Mapped[datetime] = mapped_column(DateTime(timezone=False))
