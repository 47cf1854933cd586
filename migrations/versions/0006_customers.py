"""customers of the customer directory: events must name one of them once it holds any

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_customer_identifiers_customer_id_customers"


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customers")),
    )
    # A directory loaded before this revision kept only customers with identifiers: those are
    # its customers now (loading the file again adds any listed without identifiers).
    op.execute(
        "INSERT INTO customers (customer_id) SELECT DISTINCT customer_id FROM customer_identifiers"
    )
    op.create_foreign_key(
        op.f(FK),
        "customer_identifiers",
        "customers",
        ["customer_id"],
        ["customer_id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint(op.f(FK), "customer_identifiers", type_="foreignkey")
    op.drop_table("customers")
