"""customer directory: identifiers POST /events resolves to a customer_id

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # GET /customers/{customer_id}/events needs no new index: ix_events_customer_created_at
    # (customer_id, created_at, event_id) of 0001 serves its default order and its count.
    op.create_table(
        "customer_identifiers",
        sa.Column("identifier_type", sa.String(length=16), nullable=False),
        sa.Column("customer_source_id", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint(
            "identifier_type",
            "customer_source_id",
            "value",
            "customer_id",
            name=op.f("pk_customer_identifiers"),
        ),
    )
    op.create_index("ix_customer_identifiers_customer_id", "customer_identifiers", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_identifiers_customer_id", table_name="customer_identifiers")
    op.drop_table("customer_identifiers")
