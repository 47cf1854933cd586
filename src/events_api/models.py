"""Tables, as SQLAlchemy Core `Table`s: one column list per table.

Schema changes go through Alembic migrations; a test checks that both agree. Code that reads or
writes a table names its columns through `table.c`, so each column is declared here only.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Catalog names: `name` is the plain name, or of a name given per language (`names`, JSONB
# {"cs": ..., "en": ...}; NULL for a plain name) the one a request without Accept-Language
# gets. Answers pick from `names` by Accept-Language (catalog/snapshot.py).

api_users = Table(
    "api_users",
    metadata,
    Column("api_user_id", BigInteger, primary_key=True, autoincrement=True),
    Column("login", String(255), unique=True, nullable=False),
    Column("token_digest", LargeBinary(32), nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

event_groups = Table(
    "event_groups",
    metadata,
    Column("event_group_id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("names", JSONB),
    Column("text_id", String(255), unique=True, nullable=False),
    Column("state", SmallInteger, server_default=text("1"), nullable=False),
)

event_properties = Table(
    "event_properties",
    metadata,
    Column("property_id", String(255), primary_key=True),
    Column("name", Text, nullable=False),
    Column("names", JSONB),
    Column("description", Text),
    Column("data_type", String(32), nullable=False),
    Column("is_required", Boolean, server_default=text("false"), nullable=False),
    Column("is_unique", Boolean, server_default=text("false"), nullable=False),
    Column("items", JSONB),
    Column("last_change", DateTime(timezone=False), nullable=False),
    Column("state", SmallInteger, server_default=text("1"), nullable=False),
)

event_types = Table(
    "event_types",
    metadata,
    Column("event_type_id", String(64), primary_key=True),
    Column(
        "event_group_id",
        ForeignKey("event_groups.event_group_id"),
        index=True,
        nullable=False,
    ),
    Column("name", Text, nullable=False),
    Column("names", JSONB),
    Column("text_id", String(255), unique=True, nullable=False),
    Column("icon_name", String(255)),
    Column("state", SmallInteger, server_default=text("1"), nullable=False),
)

# Which event properties are assigned to which event type (N:M).
event_type_properties = Table(
    "event_type_properties",
    metadata,
    Column(
        "event_type_id",
        ForeignKey("event_types.event_type_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "property_id",
        ForeignKey("event_properties.property_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", SmallInteger, server_default=text("0"), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("event_id", String(26), primary_key=True),
    Column("event_type_id", ForeignKey("event_types.event_type_id"), nullable=False),
    Column("customer_id", String(255), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("secondary_external_id", String(255)),
    # `json` (not jsonb) keeps the client's key order, so `data` comes back as it was sent.
    Column("data", JSON),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("state", SmallInteger, server_default=text("1"), nullable=False),
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

# Exact number of events per event type, kept by triggers on `events` (any writer, COPY
# included), so `total_items` of a type filter never scans the events. Each row is one shard
# (`pg_backend_pid() % 8` of the writing session), so concurrent writers rarely wait on the same
# counter row; the count of a type is the sum of its shards.
event_type_counts = Table(
    "event_type_counts",
    metadata,
    Column("event_type_id", String(64), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("n", BigInteger, key="event_count", nullable=False),
)

event_property_records = Table(
    "event_property_records",
    metadata,
    Column(
        "event_id",
        ForeignKey("events.event_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "property_id",
        ForeignKey("event_properties.property_id"),
        primary_key=True,
    ),
    Column("position", SmallInteger, nullable=False),
    Column("property_value", JSON),
    Column("last_change", DateTime(timezone=False), nullable=False),
)

# The customer directory's customers (`events-api customers load`, every customer the files
# listed, with or without identifiers). While it holds one, events must name one of them
# (CHECK_CUSTOMER_IDS).
customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(255), primary_key=True),
)

# The customer directory (`events-api customers load`): how POST /events finds a customer_id
# from customer_identifier_type/value. Values are stored normalized (e-mail in lower case, phone
# digits and a leading +); `customer_source_id` is '' except for external ids. Several customers
# may share a value: the lookup then refuses it.
customer_identifiers = Table(
    "customer_identifiers",
    metadata,
    Column("identifier_type", String(16), primary_key=True),
    Column("customer_source_id", String(255), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column(
        "customer_id",
        ForeignKey("customers.customer_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_customer_identifiers_customer_id", "customer_id"),
)

# Applications users log in from (POST /users/actions/login), registered by operators.
external_applications = Table(
    "external_applications",
    metadata,
    Column("external_application_id", String(26), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

# A login's bearer token, by its SHA-256 digest only. `user_check` is the SHA-256 of the API
# user's token digest at login: a rotated (or revoked) user token ends its bearer tokens too.
bearer_tokens = Table(
    "bearer_tokens",
    metadata,
    Column("token_digest", LargeBinary(32), primary_key=True),
    Column(
        "api_user_id",
        ForeignKey("api_users.api_user_id", ondelete="CASCADE"),
        index=True,
        nullable=False,
    ),
    Column(
        "external_application_id",
        ForeignKey("external_applications.external_application_id", ondelete="CASCADE"),
        index=True,
        nullable=False,
    ),
    Column("user_check", LargeBinary(32), nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    Column("valid_to", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)
