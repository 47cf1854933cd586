"""catalog names per language (`name: {cs: ..., en: ...}` in the catalog file)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("event_groups", "event_properties", "event_types")


def upgrade() -> None:
    # NULL for every stored (plain) name: catalogs loaded before keep answering as they did.
    for table in TABLES:
        op.add_column(table, sa.Column("names", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "names")
