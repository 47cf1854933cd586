"""external applications and bearer tokens (POST /users/actions/login)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "external_applications",
        sa.Column("external_application_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("external_application_id", name=op.f("pk_external_applications")),
    )
    op.create_table(
        "bearer_tokens",
        sa.Column("token_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("api_user_id", sa.BigInteger(), nullable=False),
        sa.Column("external_application_id", sa.String(length=26), nullable=False),
        sa.Column("user_check", sa.LargeBinary(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_user_id"],
            ["api_users.api_user_id"],
            name=op.f("fk_bearer_tokens_api_user_id_api_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["external_application_id"],
            ["external_applications.external_application_id"],
            name=op.f("fk_bearer_tokens_external_application_id_external_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_bearer_tokens")),
    )
    op.create_index(
        op.f("ix_bearer_tokens_api_user_id"), "bearer_tokens", ["api_user_id"], unique=False
    )
    op.create_index(
        op.f("ix_bearer_tokens_external_application_id"),
        "bearer_tokens",
        ["external_application_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_bearer_tokens_external_application_id"), table_name="bearer_tokens")
    op.drop_index(op.f("ix_bearer_tokens_api_user_id"), table_name="bearer_tokens")
    op.drop_table("bearer_tokens")
    op.drop_table("external_applications")
